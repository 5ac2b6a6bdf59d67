// What a lowering hands a model: a target's instructions plus its initial memory image. Each
// target derives its own Program type in isa/<target>/; the core only knows this base.
#pragma once

#include <string>

namespace xpusim::sim {

class Program {
public:
    virtual ~Program() = default;
    /// @brief The target name this program is for ("tpu", "reference", ...).
    virtual std::string target() const = 0;
    /// @brief The program as text assembly, which the target's assembler reads back.
    virtual std::string to_asm() const = 0;
};

}  // namespace xpusim::sim
