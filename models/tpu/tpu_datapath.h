// The numbers of a TPU run: what the MXUs, the activation pipeline and the vector unit compute,
// in the chip's formats. The timing model calls one method per instruction as it executes it;
// a --timing-only run has no datapath at all.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "isa/tpu/tpu_isa.h"

namespace xpusim::models::tpu {

using namespace isa::tpu;

class TpuDatapath {
  public:
    TpuDatapath(const TpuProgram& program, const std::map<std::string, sim::Tensor>& inputs);

    void read_host_memory(const Instruction& i);  // RHM: an input into its buffer's format
    void matrix_multiply(const Instruction& i);   // MMC: one fold into the accumulators
    void activate(const Instruction& i);          // ACT: accumulators -> output buffer
    void run_layer_function(
        const Layer& layer);  // VEC: the bound fp32 function; HOST: the host call
    /// @brief The graph outputs as fp32 tensors of their graph shapes (ints as-is).
    std::map<std::string, sim::Tensor> outputs() const;
    /// @brief Every buffer written during the run (views included), by graph value name, in
    /// real units.
    std::map<std::string, sim::Tensor> values() const;

  private:
    using AccKey = std::tuple<int, int64_t, int64_t, int64_t, int64_t>;  // layer, b, pack, m0, n0

    int root(int buffer) const;
    sim::Tensor& storage(int buffer);
    /// @brief A buffer's values in fp32 (or its own integer type), in its shape.
    sim::Tensor read(int buffer) const;
    /// @brief Stores fp32 values into a buffer: int8 quantization or bf16 rounding.
    void write(int buffer, const sim::Tensor& values);
    /// @brief The MXU's left operand for (layer, b, group): M x K values as the MXU sees them
    /// (int8 integers or bf16 values held in floats); im2col for convolutions. Cached per layer.
    const std::vector<float>& left_operand(const Layer& l, int64_t b, int64_t g);
    /// @brief The right operand (K x N) for (b, group): constant weights or a UB activation.
    const std::vector<float>& right_operand(const Layer& l, int64_t b, int64_t g);
    float right_scale(const Layer& l, int64_t g, int64_t n) const;

    const TpuProgram& m_program;
    std::map<std::string, sim::Tensor> m_inputs;
    std::vector<sim::Tensor> m_storage;           // per root buffer, in its storage format
    std::map<AccKey, std::vector<double>> m_acc;  // accumulators of items in flight
    std::map<std::tuple<int, int64_t, int64_t>, std::vector<float>> m_left, m_right;
    int m_cached_layer = -1;
};

}  // namespace xpusim::models::tpu
