// The one error hierarchy of xpusim. Every error says what went wrong and where (a file, a
// line, a key path, a graph node); the command line maps each kind to an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace xpusim::sim {

/// @brief Base of every error xpusim raises on purpose. `what()` is the full one-line message.
class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
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

/// Reading or writing a file failed.
class IoError : public Error {
    using Error::Error;
};

}  // namespace xpusim::sim
