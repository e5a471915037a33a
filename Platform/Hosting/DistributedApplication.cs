namespace Platform.Hosting;
