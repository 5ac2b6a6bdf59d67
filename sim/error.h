// The one error hierarchy of xpusim. Every error says what went wrong and where (a file, a
// line, a key path, a graph node); the command line maps each kind to an exit code.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace xpusim::sim {

/// @brief `text` made safe to print on one line of a terminal or a log: control characters
/// become escapes (\n, \t, \xNN), bytes that are not valid UTF-8 become \xNN, and text longer
/// than `max_bytes` is cut with "...". Names from model files pass through here.
std::string printable(const std::string& text, std::size_t max_bytes = 4096);

/// @brief Base of every error xpusim raises on purpose. `what()` is the full one-line message,
/// made printable, so that a node name holding a newline or invalid UTF-8 cannot break the line.
class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message) : std::runtime_error(printable(message)) {}
};

/// A configuration file or override is wrong: unknown key, wrong type, out of range.
class ConfigError : public Error {
    using Error::Error;
};

/// A model file is malformed: bad protobuf, bad shapes, cycles, missing tensors.
class ModelError : public Error {
    using Error::Error;
};

/// Something valid that xpusim (or the chosen target) does not implement.
class UnsupportedError : public Error {
    using Error::Error;
};

/// A model does not fit a target: a buffer, a memory or a size limit is exceeded.
class CapacityError : public Error {
    using Error::Error;
};

/// A statically scheduled program breaks its own schedule (two producers on one stream
/// register in one cycle, a consumer that finds another vector than it expects, a bank conflict,
/// an unmatched Sync/Notify or Send/Receive): a compiler bug, or a bad hand-written program.
class ScheduleError : public ModelError {
    using ModelError::ModelError;
};

/// Reading or writing a file failed.
class IoError : public Error {
    using Error::Error;
};

}  // namespace xpusim::sim
