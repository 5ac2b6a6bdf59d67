// Instruction emission. For an MXU layer the work is tiled as
//   items: each batch element b, pack of groups g, chunk of M rows (half the accumulators)
//   and column tile n (mxu.cols wide), dealt round-robin to the MXUs;
//   for each wave of mxu.count items, for each row tile k (mxu.rows deep), for each item:
//       RW (k, n); MMC (m, k, n) accumulating for k > 0
//   then ACT (m, n) for each item of the wave once its last MMC has drained
// and a SYNC marks the layer done. A layer's MMCs wait for the layers that produce their inputs;
// its RWs do not (unless the weights are an activation), so weights prefetch into the FIFO while
// the previous layer still computes.
#include "frontends/lower/tpu/tpu_lowering.h"

#include <map>
#include <tuple>

namespace xpusim::lower::tpu {

namespace {

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

class Emitter {
  public:
    explicit Emitter(TpuProgram& p) : m_p(p) {}

    int emit(Instruction i) {
        i.id = static_cast<int>(m_p.instructions.size());
        m_p.instructions.push_back(i);
        return i.id;
    }

  private:
    TpuProgram& m_p;
};

}  // namespace

void schedule_instructions(const TpuSpec& spec, TpuProgram& p) {
    Emitter emit(p);
    auto root = [&](int b) { return p.buffers[b].alias_of >= 0 ? p.buffers[b].alias_of : b; };
    std::map<int, int> ready;  // root buffer -> instruction after which its data is valid
    auto spilled = [&](int b) { return p.buffers[root(b)].space == MemorySpace::Dram; };
    auto dma = [&](int b, bool to_dram, int after) {
        const Buffer& buf = p.buffers[root(b)];
        Instruction i;
        i.op = Opcode::DMA;
        i.buffer = buf.id;
        i.bytes = buf.bytes();
        i.address = buf.address;
        i.source = to_dram ? MemorySpace::UnifiedBuffer : MemorySpace::Dram;
        i.destination = to_dram ? MemorySpace::Dram : MemorySpace::UnifiedBuffer;
        if (after >= 0) i.after = {after};
        return emit.emit(i);
    };
    // The instructions a reader of `buffers` waits for; a spilled buffer is first read back
    // from DRAM into the unified buffer.
    auto deps_of = [&](const std::vector<int>& buffers) {
        std::vector<int> d;
        for (int b : buffers) {
            auto it = ready.find(root(b));
            if (it == ready.end()) continue;
            const int dep = spilled(b) ? dma(b, false, it->second) : it->second;
            if (std::find(d.begin(), d.end(), dep) == d.end()) d.push_back(dep);
        }
        return d;
    };
    // After a spilled buffer is written, it goes back to DRAM.
    auto produced = [&](int b, int id) { ready[root(b)] = spilled(b) ? dma(b, true, id) : id; };

    for (const auto& [name, b] : p.graph_inputs) {
        Instruction i;
        i.op = Opcode::RHM;
        i.buffer = b;
        i.bytes = p.buffers[b].bytes();
        i.source = MemorySpace::Host;
        produced(b, emit.emit(i));
    }

    int next_mxu = 0;
    // The two most recent ACTs per MXU: an item's first MMC reuses the accumulators the item two
    // back used, so it waits for that item's Activate.
    std::vector<std::vector<int>> mxu_acts(static_cast<std::size_t>(spec.mxu.count));
    // Each weight tile has one address in weight memory, the same every time it is fetched
    // (for another chunk of M or another batch element), so re-fetches keep their row locality.
    uint64_t weight_offset = 0;
    for (const Layer& l : p.layers) {
        if (l.kind == Layer::Kind::View) continue;  // no data moves: its readers wait on the root
        const std::vector<int> deps = deps_of(l.inputs);
        if (l.kind == Layer::Kind::Vector || l.kind == Layer::Kind::Host) {
            Instruction i;
            i.op = l.kind == Layer::Kind::Vector ? Opcode::VEC : Opcode::HOST;
            i.layer = l.id;
            i.after = deps;
            const int id = emit.emit(i);
            for (int b : l.outputs) produced(b, id);
            continue;
        }
        const GemmLayer& g = l.gemm;
        const int64_t R = spec.mxu.rows, C = spec.mxu.cols;
        // A fold holds `pack` groups block-diagonally: pack*K rows by pack*N columns.
        const int64_t packs = ceil_div(g.groups, g.pack);
        const int64_t fold_k = g.K * g.pack, fold_n = g.N * g.pack;
        // Half the accumulators per item, so Activate drains one half while the MXU fills the
        // other.
        const int64_t m_chunk =
            std::min<int64_t>(g.M, std::max<int64_t>(1, spec.mxu.accumulator_rows / 2));
        std::vector<int> acts;
        std::map<std::tuple<int64_t, int64_t, int64_t>, uint64_t> tile_address;  // (pg, k0, n0)
        const std::vector<int> weight_deps =
            g.weight_buffer >= 0 ? deps_of({g.weight_buffer}) : std::vector<int>{};
        // Work items (one accumulator region each), dealt to the MXUs in waves of mxu.count;
        // within a wave the k-folds interleave across MXUs, so one weight fetcher keeps every
        // MXU's FIFO fed instead of filling one MXU's while the others starve.
        struct Item {
            int64_t b, pg, m0, n0;
            int mxu;
            int last_mmc = -1;
        };
        std::vector<Item> items;
        for (int64_t b = 0; b < g.batch; ++b)
            for (int64_t pg = 0; pg < packs; ++pg)
                for (int64_t m0 = 0; m0 < g.M; m0 += m_chunk)
                    for (int64_t n0 = 0; n0 < fold_n; n0 += C)
                        items.push_back(
                            {b, pg, m0, n0, next_mxu++ % static_cast<int>(spec.mxu.count)});
        const std::size_t wave = static_cast<std::size_t>(spec.mxu.count);
        for (std::size_t w0 = 0; w0 < items.size(); w0 += wave) {
            const std::size_t w1 = std::min(items.size(), w0 + wave);
            for (int64_t k0 = 0; k0 < fold_k; k0 += R) {
                for (std::size_t it = w0; it < w1; ++it) {
                    Item& item = items[it];
                    Instruction rw;
                    rw.op = Opcode::RW;
                    rw.layer = l.id;
                    rw.mxu = item.mxu;
                    rw.k0 = k0;
                    rw.k1 = std::min(fold_k, k0 + R);
                    rw.n0 = item.n0;
                    rw.n1 = std::min(fold_n, item.n0 + C);
                    rw.group = item.pg;
                    rw.batch = item.b;
                    rw.source = g.weight_source;
                    // Packed folds store only their diagonal blocks.
                    const int64_t useful =
                        g.pack > 1 ? std::min(g.pack, g.groups - item.pg * g.pack) * g.K * g.N
                                   : (rw.k1 - rw.k0) * (rw.n1 - rw.n0);
                    rw.bytes = static_cast<uint64_t>(useful * spec.element_bytes());
                    auto [tile, fresh] =
                        tile_address.try_emplace({item.pg, k0, item.n0}, weight_offset);
                    if (fresh) weight_offset += rw.bytes;
                    rw.address = tile->second;
                    rw.after = weight_deps;
                    emit.emit(rw);
                    Instruction mmc;
                    mmc.op = Opcode::MMC;
                    mmc.layer = l.id;
                    mmc.mxu = item.mxu;
                    mmc.m0 = item.m0;
                    mmc.m1 = std::min(g.M, item.m0 + m_chunk);
                    mmc.k0 = rw.k0;
                    mmc.k1 = rw.k1;
                    mmc.n0 = rw.n0;
                    mmc.n1 = rw.n1;
                    mmc.group = item.pg;
                    mmc.batch = item.b;
                    mmc.accumulate = k0 > 0;
                    mmc.after = deps;
                    auto& history = mxu_acts[static_cast<std::size_t>(item.mxu)];
                    if (k0 == 0 && history.size() >= 2)
                        mmc.after.push_back(history[history.size() - 2]);
                    item.last_mmc = emit.emit(mmc);
                }
            }
            for (std::size_t it = w0; it < w1; ++it) {
                const Item& item = items[it];
                Instruction act;
                act.op = Opcode::ACT;
                act.layer = l.id;
                act.mxu = item.mxu;
                act.m0 = item.m0;
                act.m1 = std::min(g.M, item.m0 + m_chunk);
                act.n0 = item.n0;
                act.n1 = std::min(fold_n, item.n0 + C);
                act.group = item.pg;
                act.batch = item.b;
                act.after = {item.last_mmc};
                acts.push_back(emit.emit(act));
                mxu_acts[static_cast<std::size_t>(item.mxu)].push_back(acts.back());
            }
        }
        Instruction done;
        done.op = Opcode::SYNC;
        done.layer = l.id;
        done.after = acts;
        const int id = emit.emit(done);
        for (int b : l.outputs) produced(b, id);
    }

    for (const auto& [name, b] : p.graph_outputs) {
        Instruction i;
        i.op = Opcode::WHM;
        i.buffer = b;
        i.bytes = p.buffers[b].bytes();
        i.source = MemorySpace::UnifiedBuffer;
        i.after = deps_of({b});
        emit.emit(i);
    }
}

}  // namespace xpusim::lower::tpu
