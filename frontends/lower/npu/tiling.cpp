#include "frontends/lower/npu/tiling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "isa/npu/layout.h"

namespace xpusim::lower::npu {

using isa::npu::ConvDesc;
using isa::npu::NpuSpec;

namespace {

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

// Input rows the strips of `rows` output rows read in all (halos counted once per strip).
uint64_t strip_input_rows(const ConvDesc& d, int64_t rows) {
    uint64_t total = 0;
    for (int64_t r0 = 0; r0 < d.p; r0 += rows) {
        int64_t first = 0, last = 0;
        isa::npu::conv_input_rows(d, r0, std::min(d.p, r0 + rows), first, last);
        total += static_cast<uint64_t>(last - first);
    }
    return total;
}

// Output rows whose input rows fit in `bytes`.
int64_t rows_fitting(const ConvDesc& d, uint64_t bytes, uint64_t row_bytes) {
    const int64_t in_rows = static_cast<int64_t>(bytes / std::max<uint64_t>(row_bytes, 1));
    const int64_t window = (d.r - 1) * d.dil_h + 1;
    if (in_rows < window) return 0;
    return std::min(d.p, (in_rows - window) / d.stride_h + 1);
}

}  // namespace

CbufPlan plan_cbuf(const ConvDesc& d, const NpuSpec& spec) {
    const int64_t atom = spec.atom_bytes();
    const uint64_t bank = spec.cbuf.bank_bytes();
    const int64_t banks = spec.cbuf.banks;
    const uint64_t row_bytes = isa::npu::conv_input_row_bytes(d, atom);
    const int64_t kpa = spec.conv.kernels_per_atomic(d.precision);
    const int64_t kg_per_group = ceil_div(d.k / d.groups, kpa);
    const int64_t kgroups = d.groups * kg_per_group;
    const uint64_t kg_bytes = isa::npu::conv_kgroup_weight_bytes(d, std::min(kpa, d.k / d.groups));
    uint64_t weights = 0;
    for (int64_t g = 0; g < kgroups; ++g) {
        const int64_t in_group = g % kg_per_group;
        weights +=
            isa::npu::conv_kgroup_weight_bytes(d, std::min(kpa, d.k / d.groups - in_group * kpa));
    }
    const uint64_t input = row_bytes * static_cast<uint64_t>(d.h);

    // Every extra strip or kernel chunk restarts the pipeline: count the bytes the DRAM could
    // have moved during one access latency, so that ties go to fewer pieces.
    const double restart = spec.dram.access_latency_ns() * spec.dram.bandwidth_gbps;
    CbufPlan best;
    best.input_bytes = input;
    best.weight_bytes = weights;
    double best_cost = std::numeric_limits<double>::infinity();
    auto consider = [&](CbufPlan p, double cost) {
        cost += restart * static_cast<double>(p.h_strips * p.k_chunks - 1);
        if (cost < best_cost) {
            best_cost = cost;
            p.input_bytes = input, p.weight_bytes = weights;
            best = p;
        }
    };
    for (int64_t db = 1; db < banks; ++db) {
        const int64_t wb = banks - db;
        const uint64_t dcap = static_cast<uint64_t>(db) * bank,
                       wcap = static_cast<uint64_t>(wb) * bank;
        if (wcap < kg_bytes) continue;
        // A weight region that cannot hold two kernel groups cannot load one while the MAC
        // array uses the other: count streamed weights as exposed.
        const double weight_exposed =
            (weights > wcap && wcap < 2 * kg_bytes) ? static_cast<double>(weights) : 0.0;
        if (input <= dcap) {
            CbufPlan p;
            p.data_banks = db, p.weight_banks = wb, p.strip_rows = d.p;
            p.weights_resident = weights <= wcap;
            p.dram_read_bytes = input * static_cast<uint64_t>(d.n) + weights;
            consider(p, static_cast<double>(p.dram_read_bytes) + weight_exposed);
            continue;
        }
        // Strips: double-buffered (two fit in the data banks) or single.
        for (int buffers = 1; buffers <= 2; ++buffers) {
            const int64_t rows = rows_fitting(d, dcap / static_cast<uint64_t>(buffers), row_bytes);
            if (rows < 1) continue;
            CbufPlan p;
            p.data_banks = db, p.weight_banks = wb, p.strip_rows = rows;
            p.h_strips = ceil_div(d.p, rows);
            const uint64_t pass =
                strip_input_rows(d, rows) * row_bytes * static_cast<uint64_t>(d.n);
            const double data_exposed = buffers == 1 ? static_cast<double>(pass) : 0.0;
            if (weights <= wcap) {
                p.weights_resident = true;
                p.dram_read_bytes = pass + weights;
                consider(p, static_cast<double>(p.dram_read_bytes) + data_exposed);
                continue;
            }
            CbufPlan stream = p;  // re-stream every kernel group for every strip
            stream.weights_resident = false;
            stream.dram_read_bytes =
                pass + static_cast<uint64_t>(p.h_strips) * static_cast<uint64_t>(d.n) * weights;
            consider(stream,
                     static_cast<double>(stream.dram_read_bytes) + data_exposed + weight_exposed);
            // Kernel chunks that fit, each re-reading the input.
            for (int64_t m = ceil_div(static_cast<int64_t>(weights), static_cast<int64_t>(wcap));
                 m <= kgroups; ++m) {
                uint64_t worst = 0;
                for (int64_t c = 0; c < m; ++c) {
                    uint64_t bytes = 0;
                    for (int64_t g = c * kgroups / m; g < (c + 1) * kgroups / m; ++g)
                        bytes += isa::npu::conv_kgroup_weight_bytes(
                            d, std::min(kpa, d.k / d.groups - (g % kg_per_group) * kpa));
                    worst = std::max(worst, bytes);
                }
                if (worst > wcap) continue;
                CbufPlan chunked = p;
                chunked.weights_resident = true;
                chunked.k_chunks = m;
                chunked.dram_read_bytes = static_cast<uint64_t>(m) * pass + weights;
                consider(chunked, static_cast<double>(chunked.dram_read_bytes) +
                                      data_exposed * static_cast<double>(m));
                break;
            }
        }
    }
    if (!std::isfinite(best_cost)) {
        // Nothing fits: one output row per strip, one kernel group at a time, and say so.
        best.data_banks = std::max<int64_t>(1, banks / 2);
        best.weight_banks = banks - best.data_banks;
        best.strip_rows = 1;
        best.h_strips = d.p;
        best.k_chunks = kgroups;
        best.weights_resident = true;
        best.dram_read_bytes = static_cast<uint64_t>(kgroups) * input + weights;
        const uint64_t rows = static_cast<uint64_t>((d.r - 1) * d.dil_h + 1);
        best.problem = "one kernel group (" + std::to_string(kg_bytes) + " B) and " +
                       std::to_string(rows) + " input rows (" + std::to_string(row_bytes * rows) +
                       " B) do not fit " + std::to_string(spec.cbuf.banks) + " CBUF banks of " +
                       std::to_string(bank) + " B";
    }
    return best;
}

void apply_cbuf_plan(const CbufPlan& plan, ConvDesc& d) {
    d.data_banks = plan.data_banks;
    d.weight_banks = plan.weight_banks;
    d.k_chunks = plan.k_chunks;
    d.h_strips = plan.h_strips;
    d.strip_rows = plan.strip_rows;
    d.weights_resident = plan.weights_resident ? 1 : 0;
}

}  // namespace xpusim::lower::npu
