// What a lowering hands a model: a target's instructions, its initial memory image, and the Spec
// it was lowered for (the model reads the chip's parameters from there, so the config is parsed
// once per run). Each target derives its own Program type in isa/<target>/; the core only knows
// this base.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sim/registry.h"

namespace xpusim::sim {

class Program {
  public:
    virtual ~Program() = default;
    /// @brief The target name this program is for ("tpu", "reference", ...).
    virtual std::string target() const = 0;
    /// @brief The program as text assembly, which the target's assembler reads back.
    virtual std::string to_asm() const = 0;
};

/// Reads a target's program back from its text form (`xpusim simulate`); ModelError on bad text.
using ProgramReader = std::function<std::unique_ptr<Program>(const std::string& text)>;
Registry<ProgramReader>& program_readers();

struct ProgramReaderRegistration {
    ProgramReaderRegistration(const std::string& target, ProgramReader read) {
        program_readers().add(target, std::move(read));
    }
};

}  // namespace xpusim::sim
