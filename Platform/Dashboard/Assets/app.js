// Live refresh without a framework: every two seconds re-fetch the current page and swap in the new content
// of each element marked data-live (matched by id). Skipped while the user is typing or has a detail open in it,
// so a refresh never steals focus or collapses what they are reading.
(function () {
  const regions = () => Array.from(document.querySelectorAll('[data-live][id]'));
  if (regions().length === 0) return;
  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
    const live = regions();
    if (live.some(r => r.contains(document.activeElement) || r.querySelector('details[open]'))) return;
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: 'same-origin', headers: { 'x-live-refresh': '1' } });
      if (!response.ok || response.redirected) return;
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const region of live) {
        const fresh = doc.getElementById(region.id);
        if (!fresh) continue;
        const atBottom = region.hasAttribute('data-scroll-bottom');
        region.replaceWith(fresh);
        if (atBottom) scrollConsole();
      }
      document.body.dataset.refreshedAt = String(Date.now());
    } catch (e) {
      // The dashboard may be restarting; try again on the next tick.
    } finally {
      busy = false;
    }
  }
  function scrollConsole() {
    const pre = document.getElementById('console-log');
    if (pre) pre.scrollTop = pre.scrollHeight;
  }
  scrollConsole();
  setInterval(refresh, 2000);
})();
