#include "models/npu/post_units.h"
#include "sim/runtime/simulation_context.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "isa/npu/layout.h"
#include "models/npu/numerics.h"
#include "sim/error.h"

namespace xpusim::models::npu {

using isa::npu::BdmaDesc;
using isa::npu::CdpDesc;
using isa::npu::HostDesc;
using isa::npu::PdpDesc;
using isa::npu::SdpDesc;
using isa::npu::Unit;

namespace {

constexpr uint64_t kItemBytes = 32768;  // independent-mode work item (simulation granularity)

std::string desc_name(const NpuContext& ctx, int32_t id) {
    const auto& d = ctx.desc(id);
    return d.nodes.empty() ? "desc" + std::to_string(id) : d.nodes.front();
}

uint64_t ceil_div(uint64_t a, uint64_t b) {
    return b ? (a + b - 1) / b : a;
}

uint64_t numel(const NpuContext& ctx, int32_t surface) {
    return static_cast<uint64_t>(sim::shape_numel(ctx.program.surface(surface).shape));
}

// Items of an independent-mode unit: its input cut into pieces of about kItemBytes.
std::vector<UnitItem> split_items(uint64_t in_elems, uint64_t in_bytes, uint64_t out_elems,
                                  uint64_t out_bytes, uint64_t operand_bytes) {
    const uint64_t n = std::max<uint64_t>(1, ceil_div(std::max(in_bytes, out_bytes), kItemBytes));
    const std::vector<uint64_t> even(n, 1);
    const auto ie = apportion(in_elems, even), ib = apportion(in_bytes, even);
    const auto oe = apportion(out_elems, even), ob = apportion(out_bytes, even);
    const auto pb = apportion(operand_bytes, even);
    std::vector<UnitItem> items(n);
    for (uint64_t i = 0; i < n; ++i) items[i] = {ie[i], ib[i], oe[i], ob[i], pb[i]};
    return items;
}

}  // namespace

std::vector<uint64_t> apportion(uint64_t total, const std::vector<uint64_t>& weights) {
    uint64_t sum = 0;
    for (uint64_t w : weights) sum += w;
    std::vector<uint64_t> out(weights.size(), 0);
    if (sum == 0) {
        if (!out.empty()) out.back() = total;
        return out;
    }
    uint64_t cum = 0, given = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        cum += weights[i];
        const auto upto = static_cast<uint64_t>(static_cast<unsigned __int128>(total) * cum / sum);
        out[i] = upto - given;
        given = upto;
    }
    return out;
}

std::vector<UnitItem> sdp_items(NpuContext& ctx, int32_t id) {
    const Descriptor& desc = ctx.desc(id);
    const auto& d = std::get<SdpDesc>(desc.payload);
    int elementwise = 0;
    for (const auto& st : d.stages) elementwise += st.operand >= 0 && !st.per_channel;
    if (desc.source >= 0) {  // fused after a conv: one item per CACC item
        std::vector<UnitItem> items;
        for (const auto& it : ctx.conv_plan(desc.source).items)
            items.push_back({it.out_elems, 0, it.out_elems, it.out_bytes,
                             it.out_bytes * static_cast<uint64_t>(elementwise)});
        return items;
    }
    uint64_t operand = 0;
    for (const auto& st : d.stages)
        if (st.operand >= 0 && !st.per_channel) operand += ctx.program.surface(st.operand).bytes;
    const uint64_t out_bytes =
        d.dst >= 0 ? ctx.program.surface(d.dst).bytes : ctx.program.surface(d.src).bytes;
    return split_items(numel(ctx, d.src), ctx.program.surface(d.src).bytes, numel(ctx, d.src),
                       out_bytes, operand);
}

// ---- StreamUnit -------------------------------------------------------------------------

StreamUnit::StreamUnit(sc_core::sc_module_name name, NpuContext& ctx, sim::DmaEngine& rdma,
                       sim::DmaEngine& wdma)
    : sc_module(name),
      slots("slots", 2),
      m_ctx(ctx),
      m_track(static_cast<const char*>(name)),
      m_rdma(rdma),
      m_wdma(wdma),
      m_rdma_to_core("rdma_to_core", 4),
      m_core_to_wdma("core_to_wdma", 2) {
    SC_THREAD(rdma);
    SC_THREAD(core);
    SC_THREAD(wdma);
}

bool StreamUnit::needs_read(int32_t id, std::size_t index, const UnitItem& item) {
    return item.in_bytes > 0 || item.operand_bytes > 0 ||
           (index == 0 && !param_surfaces(id).empty());
}

void StreamUnit::rdma() {
    sim::SimulationContext::guard([this] { rdma_loop(); });
}

void StreamUnit::rdma_loop() {
    while (true) {
        const int32_t id = rdma_queue.pop();
        for (int32_t s : reads(id)) m_ctx.wait_ready(s, id);
        const std::vector<UnitItem> its = items(id);
        const int32_t src = source_surface(id), operand = operand_surface(id);
        const uint64_t src_base = src >= 0 ? m_ctx.program.surface(src).addr : 0;
        const uint64_t op_base = operand >= 0 ? m_ctx.program.surface(operand).addr : 0;
        uint64_t src_off = 0, op_off = 0;
        const double start = NpuContext::now_ns();
        for (std::size_t i = 0; i < its.size(); ++i) {
            const UnitItem& it = its[i];
            if (!needs_read(id, i, it)) continue;
            PipeItem t{id, static_cast<int64_t>(i), it.in_elems, it.in_bytes, false, {}};
            if (i == 0)
                for (int32_t p : param_surfaces(id)) {
                    const auto& ps = m_ctx.program.surface(p);
                    t.reads.push_back(m_rdma.issue(ps.addr, ps.bytes, false, id));
                }
            if (it.in_bytes)
                t.reads.push_back(m_rdma.issue(src_base + src_off, it.in_bytes, false, id));
            if (it.operand_bytes)
                t.reads.push_back(m_rdma.issue(op_base + op_off, it.operand_bytes, false, id));
            src_off += it.in_bytes;
            op_off += it.operand_bytes;
            m_rdma_to_core.write(t);
        }
        m_ctx.trace(m_track + ".rdma", desc_name(m_ctx, id), start, NpuContext::now_ns(), id);
    }
}

void StreamUnit::core() {
    sim::SimulationContext::guard([this] { core_loop(); });
}

void StreamUnit::core_loop() {
    while (true) {
        const int32_t id = core_queue.pop();
        const bool fused = m_ctx.desc(id).source >= 0;
        const std::vector<UnitItem> its = items(id);
        DescStats& st = m_ctx.stats(id);
        double start = -1;
        for (std::size_t i = 0; i < its.size(); ++i) {
            const UnitItem& it = its[i];
            double t0 = NpuContext::now_ns();
            if (fused) {
                const PipeItem in = input->read();
                if (in.desc != m_ctx.desc(id).source)
                    throw sim::Error("NPU model: " + m_track + " descriptor " + std::to_string(id) +
                                     " received an item of descriptor " + std::to_string(in.desc));
            }
            if (needs_read(id, i, it)) sim::wait_all(m_rdma_to_core.read().reads);
            st.stall_input_ns += NpuContext::now_ns() - t0;
            if (start < 0) {
                start = NpuContext::now_ns();
                st.touch(start);
            }
            const uint64_t cycles = core_cycles(id, it);
            sc_core::wait(m_ctx.cycles(static_cast<double>(cycles)));
            st.busy_cycles += cycles;
            const bool last = i + 1 == its.size();
            if (last && !m_ctx.timing_only) finish(id);
            const PipeItem out{id, static_cast<int64_t>(i), it.out_elems, it.out_bytes, last};
            t0 = NpuContext::now_ns();
            if (destination(id) < 0) {
                if (!output)
                    throw sim::Error("NPU model: " + m_track + " descriptor " + std::to_string(id) +
                                     " has no destination");
                output->write(out);
            } else {
                m_core_to_wdma.write(out);
            }
            st.stall_output_ns += NpuContext::now_ns() - t0;
        }
        m_ctx.trace(m_track, desc_name(m_ctx, id), start, NpuContext::now_ns(), id);
        if (destination(id) < 0) {  // fused downstream: done when its last item is handed on
            st.touch(NpuContext::now_ns());
            st.done = true;
        }
        slots.post();
    }
}

void StreamUnit::wdma() {
    sim::SimulationContext::guard([this] { wdma_loop(); });
}

void StreamUnit::wdma_loop() {
    int32_t current = -1;
    uint64_t offset = 0, base = 0;
    std::vector<sim::DmaHandle> writes;  // of the current descriptor
    double start = 0;
    while (true) {
        const PipeItem it = m_core_to_wdma.read();
        if (it.desc != current) {
            current = it.desc;
            offset = 0;
            base = m_ctx.program.surface(destination(current)).addr;
            writes.clear();
            start = NpuContext::now_ns();
        }
        writes.push_back(m_wdma.issue(base + offset, it.out_bytes, true, current));
        offset += it.out_bytes;
        if (it.last) {
            sim::wait_all(writes);
            m_ctx.mark_ready(destination(current));
            m_ctx.stats(current).touch(NpuContext::now_ns());
            m_ctx.stats(current).done = true;
            m_ctx.trace(m_track + ".wdma", desc_name(m_ctx, current), start, NpuContext::now_ns(),
                        current);
            current = -1;
        }
    }
}

// ---- SDP ----------------------------------------------------------------------------------

std::vector<UnitItem> SdpUnit::items(int32_t id) {
    return sdp_items(m_ctx, id);
}

uint64_t SdpUnit::core_cycles(int32_t id, const UnitItem& item) {
    const auto& d = std::get<SdpDesc>(m_ctx.desc(id).payload);
    uint64_t tput = static_cast<uint64_t>(m_ctx.spec.sdp.throughput);
    for (const auto& st : d.stages)
        if (st.op == "lut")
            tput = std::min(tput, static_cast<uint64_t>(m_ctx.spec.sdp.lut_throughput));
    return ceil_div(item.out_elems, tput);
}

std::vector<int32_t> SdpUnit::reads(int32_t id) {
    const auto& d = std::get<SdpDesc>(m_ctx.desc(id).payload);
    std::vector<int32_t> r;
    if (m_ctx.desc(id).source < 0) r.push_back(d.src);
    for (const auto& st : d.stages)
        if (st.operand >= 0) r.push_back(st.operand);
    return r;
}

int32_t SdpUnit::operand_surface(int32_t id) {
    for (const auto& st : std::get<SdpDesc>(m_ctx.desc(id).payload).stages)
        if (st.operand >= 0 && !st.per_channel) return st.operand;
    return -1;
}

std::vector<int32_t> SdpUnit::param_surfaces(int32_t id) {
    std::vector<int32_t> r;
    for (const auto& st : std::get<SdpDesc>(m_ctx.desc(id).payload).stages) {
        if (st.param >= 0) r.push_back(st.param);
        if (st.table >= 0) r.push_back(st.table);
        if (st.operand >= 0 && st.per_channel) r.push_back(st.operand);
    }
    return r;
}

int32_t SdpUnit::source_surface(int32_t id) {
    return m_ctx.desc(id).source >= 0 ? -1 : std::get<SdpDesc>(m_ctx.desc(id).payload).src;
}

int32_t SdpUnit::destination(int32_t id) {
    return std::get<SdpDesc>(m_ctx.desc(id).payload).dst;
}

void SdpUnit::finish(int32_t id) {
    const Descriptor& desc = m_ctx.desc(id);
    const auto& d = std::get<SdpDesc>(desc.payload);
    const bool from_cacc = desc.source >= 0;
    sim::Tensor in = from_cacc ? m_ctx.intermediate.at(desc.source) : m_ctx.memory.read(d.src);
    if (from_cacc && d.dst >= 0) in = in.reshaped(m_ctx.program.surface(d.dst).shape);
    sim::Tensor out = sdp_apply(d, in, from_cacc, m_ctx.program, m_ctx.memory);
    if (from_cacc) m_ctx.intermediate.erase(desc.source);
    if (d.dst >= 0)
        m_ctx.memory.write(d.dst, out);
    else
        m_ctx.intermediate[id] = out;
}

// ---- PDP ----------------------------------------------------------------------------------

std::vector<UnitItem> PdpUnit::items(int32_t id) {
    const Descriptor& desc = m_ctx.desc(id);
    const auto& d = std::get<PdpDesc>(desc.payload);
    const uint64_t out_bytes = m_ctx.program.surface(d.dst).bytes;
    const uint64_t out_elems = static_cast<uint64_t>(d.n * d.c * d.p * d.q);
    if (desc.source < 0)
        return split_items(numel(m_ctx, d.src), m_ctx.program.surface(d.src).bytes, out_elems,
                           out_bytes, 0);
    // Fused after SDP: each SDP item is pooled as it arrives; outputs follow the inputs.
    const std::vector<UnitItem> up = sdp_items(m_ctx, desc.source);
    std::vector<uint64_t> weights;
    for (const auto& u : up) weights.push_back(u.out_elems);
    const auto ob = apportion(out_bytes, weights), oe = apportion(out_elems, weights);
    std::vector<UnitItem> items;
    for (std::size_t i = 0; i < up.size(); ++i)
        items.push_back({up[i].out_elems, 0, oe[i], ob[i], 0});
    return items;
}

uint64_t PdpUnit::core_cycles(int32_t, const UnitItem& item) {
    return ceil_div(item.in_elems, static_cast<uint64_t>(m_ctx.spec.pdp.throughput));
}

std::vector<int32_t> PdpUnit::reads(int32_t id) {
    if (m_ctx.desc(id).source >= 0) return {};
    return {std::get<PdpDesc>(m_ctx.desc(id).payload).src};
}

int32_t PdpUnit::source_surface(int32_t id) {
    return m_ctx.desc(id).source >= 0 ? -1 : std::get<PdpDesc>(m_ctx.desc(id).payload).src;
}

int32_t PdpUnit::destination(int32_t id) {
    return std::get<PdpDesc>(m_ctx.desc(id).payload).dst;
}

void PdpUnit::finish(int32_t id) {
    const Descriptor& desc = m_ctx.desc(id);
    const auto& d = std::get<PdpDesc>(desc.payload);
    sim::Tensor in =
        desc.source >= 0 ? m_ctx.intermediate.at(desc.source) : m_ctx.memory.read(d.src);
    in = in.reshaped({d.n, d.c, d.h, d.w});
    m_ctx.memory.write(d.dst, pool_apply(d, in));
    if (desc.source >= 0) m_ctx.intermediate.erase(desc.source);
}

// ---- CDP ----------------------------------------------------------------------------------

std::vector<UnitItem> CdpUnit::items(int32_t id) {
    const auto& d = std::get<CdpDesc>(m_ctx.desc(id).payload);
    return split_items(numel(m_ctx, d.src), m_ctx.program.surface(d.src).bytes, numel(m_ctx, d.dst),
                       m_ctx.program.surface(d.dst).bytes, 0);
}

uint64_t CdpUnit::core_cycles(int32_t, const UnitItem& item) {
    return ceil_div(item.in_elems, static_cast<uint64_t>(m_ctx.spec.cdp.throughput));
}

std::vector<int32_t> CdpUnit::reads(int32_t id) {
    return {std::get<CdpDesc>(m_ctx.desc(id).payload).src};
}
int32_t CdpUnit::source_surface(int32_t id) {
    return std::get<CdpDesc>(m_ctx.desc(id).payload).src;
}
int32_t CdpUnit::destination(int32_t id) {
    return std::get<CdpDesc>(m_ctx.desc(id).payload).dst;
}

void CdpUnit::finish(int32_t id) {
    const auto& d = std::get<CdpDesc>(m_ctx.desc(id).payload);
    const sim::Tensor in = m_ctx.memory.read(d.src).reshaped({d.n, d.c, d.h, d.w});
    const double in_scale = m_ctx.program.storage(d.src).scale;
    m_ctx.memory.write(d.dst, lrn_apply(d, in, in_scale, m_ctx.program.surface(d.dst)));
}

// ---- BDMA ---------------------------------------------------------------------------------

BdmaUnit::BdmaUnit(sc_core::sc_module_name name, NpuContext& ctx, sim::DmaEngine& dma)
    : sc_module(name), slots("slots", 2), m_ctx(ctx), m_dma(dma) {
    SC_THREAD(run);
}

void BdmaUnit::run() {
    sim::SimulationContext::guard([this] { run_loop(); });
}

// The logical elements a copy moves: all of src, or (a slice) dst's count from first_element.
sim::Tensor BdmaUnit::copied_elements(const BdmaDesc& d) const {
    const sim::Tensor src = m_ctx.memory.read(d.src);
    const sim::Shape& shape = m_ctx.program.surface(d.dst).shape;
    if (d.first_element == 0 && sim::shape_numel(shape) == src.numel()) return src;
    sim::Tensor out(src.dtype(), shape);
    const std::size_t es = sim::dtype_size(src.dtype());
    if (d.first_element < 0 || d.first_element + out.numel() > src.numel())
        throw sim::Error("bdma: a copy reads past the end of surface " + std::to_string(d.src));
    std::memcpy(out.raw(), static_cast<const uint8_t*>(src.raw()) + d.first_element * es,
                out.nbytes());
    return out;
}

void BdmaUnit::run_loop() {
    while (true) {
        const int32_t id = queue.pop();
        const auto& d = std::get<BdmaDesc>(m_ctx.desc(id).payload);
        m_ctx.wait_ready(d.src, id);
        const double start = NpuContext::now_ns();
        m_ctx.stats(id).touch(start);
        const uint64_t src = m_ctx.program.surface(d.src).addr + d.src_offset,
                       dst = m_ctx.program.surface(d.dst).addr;
        std::vector<sim::DmaHandle> writes;
        for (uint64_t off = 0; off < d.bytes; off += kItemBytes) {
            const uint64_t n = std::min(kItemBytes, d.bytes - off);
            m_dma.transfer(src + off, n, false, id);
            const uint64_t cycles =
                ceil_div(n, static_cast<uint64_t>(m_ctx.spec.bdma.bytes_per_cycle));
            sc_core::wait(m_ctx.cycles(static_cast<double>(cycles)));
            m_ctx.stats(id).busy_cycles += cycles;
            writes.push_back(m_dma.issue(dst + off, n, true, id));
        }
        sim::wait_all(writes);
        if (!m_ctx.timing_only) m_ctx.memory.write(d.dst, copied_elements(d));
        m_ctx.mark_ready(d.dst);
        m_ctx.stats(id).touch(NpuContext::now_ns());
        m_ctx.stats(id).done = true;
        m_ctx.trace("bdma", desc_name(m_ctx, id), start, NpuContext::now_ns(), id);
        slots.post();
    }
}

// ---- host ---------------------------------------------------------------------------------

namespace {
sim::DmaConfig link_dma_config(const NpuContext& ctx) {
    sim::DmaConfig c;
    c.cycle_ns = 1;
    c.bytes_per_cycle = ctx.spec.host.link_gbps;  // GB/s = B/ns
    c.request_bytes = 4096;                       // simulation granularity
    const double in_flight = c.bytes_per_cycle * ctx.spec.dram.access_latency_ns();
    c.outstanding =
        1 + static_cast<int64_t>(std::ceil(in_flight / static_cast<double>(c.request_bytes)));
    return c;
}
}  // namespace

HostUnit::HostUnit(sc_core::sc_module_name name, NpuContext& ctx, sim::Dram& dram)
    : sc_module(name), slots("slots", 2), m_ctx(ctx) {
    m_link = sim::make_owned<sim::DmaEngine>("link_dma", link_dma_config(ctx));
    m_link->socket.bind(dram.socket);
    SC_THREAD(run);
    SC_THREAD(graph_io);
}

void HostUnit::cross(int32_t id, bool write, int32_t desc) {
    const auto& s = m_ctx.program.surface(id);
    if (s.bytes == 0) return;
    sc_core::wait(sc_time(m_ctx.spec.host.link_latency_us, sc_core::SC_US));
    m_link->transfer(s.addr, s.bytes, write, desc);
    link_bytes += s.bytes;
}

void HostUnit::graph_io() {
    sim::SimulationContext::guard([this] {
        for (const auto& b : m_ctx.program.inputs) {
            const double t0 = NpuContext::now_ns();
            cross(b.surface, true, -1);
            m_ctx.mark_ready(b.surface);
            m_ctx.trace("host", "input " + b.name, t0, NpuContext::now_ns(), -1);
        }
        for (const auto& b : m_ctx.program.outputs) {
            m_ctx.wait_ready(b.surface, -1);
            const double t0 = NpuContext::now_ns();
            cross(b.surface, false, -1);
            m_ctx.trace("host", "output " + b.name, t0, NpuContext::now_ns(), -1);
        }
        io_end_ns = NpuContext::now_ns();
    });
}

void HostUnit::run() {
    sim::SimulationContext::guard([this] { run_loop(); });
}

void HostUnit::run_loop() {
    while (true) {
        const int32_t id = queue.pop();
        const auto& h = std::get<HostDesc>(m_ctx.desc(id).payload);
        for (int32_t s : h.inputs) m_ctx.wait_ready(s, id);
        const double start = NpuContext::now_ns();
        m_ctx.stats(id).touch(start);
        for (int32_t s : h.inputs) cross(s, false, id);
        sc_core::wait(sc_time(m_ctx.spec.host.op_seconds({h.flops, h.bytes}), sc_core::SC_SEC));
        if (!m_ctx.timing_only) {
            if (h.call < 0 || h.call >= static_cast<int32_t>(m_ctx.program.host_calls.size()) ||
                !m_ctx.program.host_calls[static_cast<std::size_t>(h.call)].compute)
                throw sim::Error(
                    "NPU model: host call for node '" + desc_name(m_ctx, id) +
                    "' has no compute function (a parsed program needs its host calls re-bound)");
            std::vector<sim::Tensor> inputs;
            for (int32_t s : h.inputs) inputs.push_back(m_ctx.memory.read_real(s));
            const auto outputs =
                m_ctx.program.host_calls[static_cast<std::size_t>(h.call)].compute(inputs);
            if (outputs.size() < h.outputs.size())
                throw sim::Error("NPU model: host call '" + desc_name(m_ctx, id) +
                                 "' returned too few outputs");
            for (std::size_t i = 0; i < h.outputs.size(); ++i)
                m_ctx.memory.write(
                    h.outputs[i], quantize_tensor(outputs[i], m_ctx.program.surface(h.outputs[i])));
        }
        for (int32_t s : h.outputs) cross(s, true, id);
        for (int32_t s : h.outputs) m_ctx.mark_ready(s);
        m_ctx.stats(id).touch(NpuContext::now_ns());
        m_ctx.stats(id).done = true;
        m_ctx.trace("host", desc_name(m_ctx, id), start, NpuContext::now_ns(), id);
        slots.post();
    }
}

}  // namespace xpusim::models::npu
