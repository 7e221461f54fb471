using System.Diagnostics;
using System.Globalization;
using ImageActors.Images;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// Usage: ImageActors.EmbedStartup --ImageActors:data_dir=DIR --image=FILE
// Prints the milliseconds from process start to the end of the first import, then stops the host.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddImageActors(b => b.BindConfiguration("ImageActors"));
using var host = builder.Build();
await host.StartAsync();

var store = host.Services.GetRequiredService<ImageStore>();
var file = builder.Configuration["image"] ?? throw new ArgumentException("--image=FILE names the image to import");
var image = await store.ImportAsync(new ImportRequest(new ImageSource.UnifiedFile(file)) { Aliases = ["first"] });
var sinceStart = DateTime.Now - Process.GetCurrentProcess().StartTime;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first import {image.Fingerprint.ToShortString(12)} finished {sinceStart.TotalMilliseconds:0} ms after process start"));

await host.StopAsync();
