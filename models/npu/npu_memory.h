// The values held in the NPU's DRAM during one run: one tensor per storage surface (int8 codes for
// int8 surfaces, floats for fp16/fp32 ones), read and written through views (a reshape shares
// the bytes; a concat slice is a channel range of its parent). Plain C++: the SystemC units call
// it when a layer's numerics are computed; timing never depends on the values.
#pragma once

#include <map>
#include <vector>

#include "isa/npu/program.h"

namespace xpusim::models::npu {

using isa::npu::NpuProgram;
using isa::npu::Surface;
using sim::Tensor;

class NpuMemory {
  public:
    explicit NpuMemory(const NpuProgram& program);

    /// @brief The tensor of surface `id` in its own logical shape (int8 codes or floats).
    Tensor read(int32_t id) const;
    /// @brief Stores `value` (shape = the surface's logical shape) into surface `id`.
    void write(int32_t id, const Tensor& value);
    /// @brief Quantizes a float tensor into an input surface (int8: round-to-nearest-even with
    /// the surface's scale; fp16: rounded to fp16).
    void load_input(int32_t id, const Tensor& value);
    /// @brief Surface `id` as fp32 real values (int8 codes times the scale).
    Tensor read_real(int32_t id) const;
    /// @brief Whether the storage behind surface `id` has been written (or is a constant).
    bool written(int32_t id) const;

  private:
    int32_t through_views(int32_t id) const;
    const NpuProgram& m_program;
    std::map<int32_t, Tensor> m_storage;  // storage surface id -> values
};

/// @brief int8 codes * scale -> float32 (floats pass through).
Tensor dequantize_tensor(const Tensor& t, double scale);
/// @brief float -> the storage type of a surface (int8 with its scale, fp16-rounded floats, fp32).
Tensor quantize_tensor(const Tensor& t, const Surface& s);

}  // namespace xpusim::models::npu
