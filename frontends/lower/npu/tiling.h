// The compiler's CBUF plan for one convolution: how many banks hold input data and how many
// hold weights, and how the layer is split when they do not fit (NVDLA primer: "if the
// convolutional buffer can only hold a fourth of the weight data, the calculation must be split
// into four steps, multiplying the input bandwidth ... if the buffers cannot hold enough lines
// for a support region, the convolution must also be broken up into horizontal strips").
//
// For every split of the banks it considers
//   input fits:      load it once; stream the kernel groups through the weight banks
//                    DRAM = I + W
//   input too big:   output-height strips of the rows that fit (halo rows re-read: I' >= I)
//     weights fit:   keep them resident                         DRAM = I' + W
//     they do not:   re-stream all weights for every strip      DRAM = I' + strips * W
//                    or split the kernels into m chunks that fit, re-reading the input
//                    for each chunk                             DRAM = m * I' + W
// and keeps the cheapest, counting the loads that cannot overlap compute (a strip that fills
// the data banks alone; weight banks too small to double-buffer a kernel group) as extra cost.
#pragma once

#include <string>

#include "isa/npu/descriptors.h"

namespace xpusim::lower::npu {

struct CbufPlan {
    int64_t data_banks = 1, weight_banks = 1;
    int64_t k_chunks = 1, h_strips = 1, strip_rows = 1;
    bool weights_resident = true;
    uint64_t input_bytes = 0, weight_bytes = 0;  // once
    uint64_t dram_read_bytes = 0;                // as planned, re-fetches included
    std::string problem;  // non-empty: no split fits (one kernel group plus a few rows)
};

/// @brief Plans `d` (geometry, mode and precision filled in) on the CBUF of `spec`.
CbufPlan plan_cbuf(const isa::npu::ConvDesc& d, const isa::npu::NpuSpec& spec);

/// @brief Writes the plan into the descriptor's CBUF registers.
void apply_cbuf_plan(const CbufPlan& plan, isa::npu::ConvDesc& d);

}  // namespace xpusim::lower::npu
