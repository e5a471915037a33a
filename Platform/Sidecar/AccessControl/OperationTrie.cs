namespace Platform.Sidecar.AccessControl;

/// <summary>
/// Operation names by path segment, matched the way daprd's ACL trie matches them, quirks included, so a policy means
/// here what it means to daprd: a last segment <c>*</c> matches any one segment (and the bare parent path); <c>**</c>
/// matches everything below; <c>*</c> inside a segment (<c>/op*</c>) matches any characters in that segment; a whole
/// <c>*</c> segment in the middle of a name matches nothing; when two rules name the same path, the first one wins.
/// </summary>
public sealed class OperationTrie
{
    private const string SingleStage = "/*";
    private const string MultiStage = "/**";

    private readonly Node _root = new("/", null);

    public void Put(string operation, OperationAction data)
    {
        var parts = operation.Split('/');
        var node = _root;
        for (var i = 1; i < parts.Length; i++)
        {
            var segment = "/" + parts[i];
            var last = i == parts.Length - 1;
            var existing = node.Children.FirstOrDefault(n => n.Segment == segment);
            if (existing is null)
            {
                var created = new Node(segment, last ? data : null);
                node.Children.Add(created);
                node = created;
            }
            else if (last)
            {
                existing.Data ??= data;
            }
            else
            {
                node = existing;
            }
        }
    }

    public OperationAction? Search(string operation)
    {
        var parts = operation.Split('/');
        Node? node = _root;
        for (var i = 1; i < parts.Length; i++)
        {
            var last = i == parts.Length - 1;
            node = FindChild(node, "/" + parts[i], last);
            if (node is null) return null;
            if (node.Data is not null)
            {
                // A single-stage wildcard passed on the way down is no match for a deeper path.
                if (!last && node.Segment.EndsWith(SingleStage, StringComparison.Ordinal) && !node.Segment.EndsWith(MultiStage, StringComparison.Ordinal)) continue;
                return node.Data;
            }
            if (last)
            {
                node = FindChild(node, SingleStage, true);
                return node?.Data;
            }
        }
        return null;
    }

    private static Node? FindChild(Node node, string segment, bool last)
    {
        foreach (var child in node.Children)
        {
            if (child.Segment == segment) return child;
            if (child.Segment == SingleStage)
            {
                if (last) return child;
                continue;
            }
            if (child.Segment == MultiStage) return child;
            if (Wildcard.IsMatch(segment, child.Segment)) return child;
        }
        return null;
    }

    private sealed class Node(string segment, OperationAction? data)
    {
        public string Segment { get; } = segment;
        public OperationAction? Data { get; set; } = data;
        public List<Node> Children { get; } = [];
    }
}
