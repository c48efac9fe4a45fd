namespace Molyneux.Imaging;

/// <summary>An image file decoded but not yet a tensor: 8-bit RGBA rows, unpremultiplied, as Skia gives them
/// (<see cref="ImageDecoder.Decode"/>). Plain managed memory, so worker threads can make it without touching
/// TorchSharp, whose dispose scopes belong to one thread.</summary>
/// <param name="Path">The file, for error messages.</param>
/// <param name="Rgba">Width × Height × 4 bytes, row by row.</param>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="HasAlpha">Whether the file can hold transparency, which is then composited on white.</param>
public sealed record DecodedImage(string Path, byte[] Rgba, int Width, int Height, bool HasAlpha);
