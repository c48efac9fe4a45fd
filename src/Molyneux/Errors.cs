namespace Molyneux;

/// <summary>Base of every error Molyneux reports about its input; the CLI prints the message without a stack
/// trace. Each subclass is one failure family, and each message names the file (and the line, field or tensor).</summary>
public abstract class MolyneuxException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A checkpoint file (safetensors, OpenAI/HF weights) is missing, malformed or does not fit the model.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : MolyneuxException(message, inner);

/// <summary>A configuration file (config.json, preprocessor_config.json) is missing, malformed or inconsistent.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : MolyneuxException(message, inner);

/// <summary>Tokenizer files (vocab.json, merges.txt, bpe_simple_vocab_16e6.txt.gz) are missing or malformed, or a
/// text cannot be tokenized as asked.</summary>
public sealed class TokenizerException(string message, Exception? inner = null) : MolyneuxException(message, inner);

/// <summary>An image cannot be read or decoded.</summary>
public sealed class ImageException(string message, Exception? inner = null) : MolyneuxException(message, inner);

/// <summary>A dataset (image folder, captions file) is missing or malformed.</summary>
public sealed class DatasetException(string message, Exception? inner = null) : MolyneuxException(message, inner);

/// <summary>An option has a value outside what it accepts (a device that does not exist, a negative count).</summary>
public sealed class OptionException(string message, Exception? inner = null) : MolyneuxException(message, inner);

/// <summary>An optimisation (inversion, fine-tuning) produced a loss or gradient that is not finite, so it stopped;
/// the last state it saved, if any, is kept.</summary>
public sealed class DivergenceException(string message, Exception? inner = null) : MolyneuxException(message, inner);
