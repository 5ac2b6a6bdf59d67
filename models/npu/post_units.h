// The post-processing units. SDP, PDP and CDP share one shape, as in NVDLA: a read DMA (its
// input in independent mode, element-wise operands and per-channel parameters), a core that
// processes one work item at a time at the unit's throughput, and a write DMA; fused units take
// their input from the upstream unit's FIFO instead and may hand their output on (SDP -> PDP).
//   SDP core cycles per item = ceil(elements / sdp.throughput)   (sdp.lut_throughput with a LUT)
//   PDP core cycles per item = ceil(input elements / pdp.throughput)
//   CDP core cycles per item = ceil(elements / cdp.throughput)
// BDMA copies memory to memory at bdma.bytes_per_cycle; the host unit runs host calls: inputs
// cross the link (latency + bytes / link bandwidth), the host computes (HostSpec::op_seconds: a
// roofline of the op's FLOPs and bytes on the host), outputs cross back.
#pragma once

#include <systemc>

#include "models/npu/npu_context.h"
#include "sim/memory/dma.h"
#include "sim/memory/dram.h"

namespace xpusim::models::npu {

/// One work item of a post unit: what it reads, processes and writes.
struct UnitItem {
    uint64_t in_elems = 0, in_bytes = 0;  // in_bytes: read from memory (independent mode)
    uint64_t out_elems = 0, out_bytes = 0;
    uint64_t operand_bytes = 0;  // per-element operands read alongside
};

class StreamUnit : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(StreamUnit);
    StreamUnit(sc_core::sc_module_name name, NpuContext& ctx, sim::DmaEngine& rdma,
               sim::DmaEngine& wdma);

    IdQueue rdma_queue, core_queue;
    sc_core::sc_semaphore slots;                   // ping-pong register groups
    sc_core::sc_fifo<PipeItem>* input = nullptr;   // from the upstream unit (fused mode)
    sc_core::sc_fifo<PipeItem>* output = nullptr;  // to the downstream unit (fused mode)

  protected:
    /// The items of descriptor `id` (fused: one per upstream item, in the same order).
    virtual std::vector<UnitItem> items(int32_t id) = 0;
    virtual uint64_t core_cycles(int32_t id, const UnitItem& item) = 0;
    /// Surfaces the descriptor reads from memory (it waits until they are written).
    virtual std::vector<int32_t> reads(int32_t id) = 0;
    /// The surface read per element alongside the items (or -1).
    virtual int32_t operand_surface(int32_t id) { return -1; }
    /// Surfaces read whole before the first item (per-channel parameters, tables).
    virtual std::vector<int32_t> param_surfaces(int32_t id) { return {}; }
    virtual int32_t source_surface(int32_t id) = 0;  // independent-mode input, or -1
    virtual int32_t destination(int32_t id) = 0;     // -1 when fused downstream
    /// Computes the layer's numbers (called once, before its last item leaves the core).
    virtual void finish(int32_t id) = 0;

    NpuContext& m_ctx;

    std::string m_track;  // trace track of the core

  private:
    void rdma();
    void rdma_loop();
    void core();
    void core_loop();
    void wdma();
    void wdma_loop();
    bool needs_read(int32_t id, std::size_t index, const UnitItem& item);

    sim::DmaEngine& m_rdma;
    sim::DmaEngine& m_wdma;
    sc_core::sc_fifo<PipeItem> m_rdma_to_core;  // items with their read tickets
    sc_core::sc_fifo<PipeItem> m_core_to_wdma;
};

class SdpUnit : public StreamUnit {
  public:
    using StreamUnit::StreamUnit;

  protected:
    std::vector<UnitItem> items(int32_t id) override;
    uint64_t core_cycles(int32_t id, const UnitItem& item) override;
    std::vector<int32_t> reads(int32_t id) override;
    int32_t operand_surface(int32_t id) override;
    std::vector<int32_t> param_surfaces(int32_t id) override;
    int32_t source_surface(int32_t id) override;
    int32_t destination(int32_t id) override;
    void finish(int32_t id) override;
};

class PdpUnit : public StreamUnit {
  public:
    using StreamUnit::StreamUnit;

  protected:
    std::vector<UnitItem> items(int32_t id) override;
    uint64_t core_cycles(int32_t id, const UnitItem& item) override;
    std::vector<int32_t> reads(int32_t id) override;
    int32_t source_surface(int32_t id) override;
    int32_t destination(int32_t id) override;
    void finish(int32_t id) override;
};

class CdpUnit : public StreamUnit {
  public:
    using StreamUnit::StreamUnit;

  protected:
    std::vector<UnitItem> items(int32_t id) override;
    uint64_t core_cycles(int32_t id, const UnitItem& item) override;
    std::vector<int32_t> reads(int32_t id) override;
    int32_t source_surface(int32_t id) override;
    int32_t destination(int32_t id) override;
    void finish(int32_t id) override;
};

/// Bridge DMA: memory-to-memory copies.
class BdmaUnit : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(BdmaUnit);
    BdmaUnit(sc_core::sc_module_name name, NpuContext& ctx, sim::DmaEngine& dma);
    IdQueue queue;
    sc_core::sc_semaphore slots;

  private:
    void run();
    void run_loop();
    sim::Tensor copied_elements(const isa::npu::BdmaDesc& d) const;
    NpuContext& m_ctx;
    sim::DmaEngine& m_dma;
};

/// The host CPU and its link into the SoC's DRAM. It writes the graph's inputs before any layer
/// reads them and reads its outputs once written; a host call reads its operands, computes
/// (HostSpec::op_seconds) and writes its results. Each transfer pays the link latency and moves
/// its bytes through the DRAM model by a DMA engine paced at the link's bandwidth, with enough
/// requests in flight to cover the DRAM's access latency.
class HostUnit : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(HostUnit);
    HostUnit(sc_core::sc_module_name name, NpuContext& ctx, sim::Dram& dram);
    IdQueue queue;
    sc_core::sc_semaphore slots;
    uint64_t link_bytes = 0;
    double io_end_ns = 0;  // when the last graph output has crossed to the host

  private:
    void run();
    void run_loop();
    void graph_io();
    /// @brief Moves surface `id` over the link: write = host to DRAM.
    void cross(int32_t id, bool write, int32_t desc);
    NpuContext& m_ctx;
    sim::DmaEngine* m_link;
};

/// @brief `total` cut into parts proportional to `weights` (cumulative rounding, so the parts
/// add up to `total`).
std::vector<uint64_t> apportion(uint64_t total, const std::vector<uint64_t>& weights);
/// @brief The SDP work items of descriptor `id` (PDP fused after an SDP follows them).
std::vector<UnitItem> sdp_items(NpuContext& ctx, int32_t id);

}  // namespace xpusim::models::npu
