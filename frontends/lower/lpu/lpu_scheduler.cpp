#include "frontends/lower/lpu/lpu_scheduler.h"

#include <algorithm>
#include <cstdlib>

#include "sim/error.h"

namespace xpusim::lower::lpu {

using isa::lpu::output_latency;
using isa::lpu::StreamRef;
using isa::lpu::Unit;

std::optional<int64_t> Intervals::conflict_end(int64_t a, int64_t b) const {
    auto it = m_spans.upper_bound(a);
    if (it != m_spans.begin()) {
        auto prev = std::prev(it);
        if (prev->second > a) return prev->second;
    }
    if (it != m_spans.end() && it->first < b) return it->second;
    return std::nullopt;
}

void Intervals::add(int64_t a, int64_t b) {
    if (b <= a) return;
    auto it = m_spans.upper_bound(a);
    if (it != m_spans.begin() && std::prev(it)->second >= a) {
        --it;
        a = it->first;
        b = std::max(b, it->second);
        it = m_spans.erase(it);
    }
    while (it != m_spans.end() && it->first <= b) {
        b = std::max(b, it->second);
        it = m_spans.erase(it);
    }
    m_spans.emplace(a, b);
}

int64_t Scheduler::position(const std::string& queue) const {
    auto it = m_positions.find(queue);
    if (it != m_positions.end()) return it->second;
    return m_positions[queue] = isa::lpu::queue_position(queue, m_spec.mem.slices);
}

std::string Scheduler::mem_queue(int slice) const {
    const int64_t half = m_spec.mem.per_hemisphere();
    return slice < half ? "MEM.W" + std::to_string(slice) : "MEM.E" + std::to_string(slice - half);
}

int64_t Scheduler::travel(int64_t from, int64_t to) const {
    const auto& st = m_spec.stream;
    return std::abs(from / st.slices_per_hop * st.hop_cycles - to / st.slices_per_hop * st.hop_cycles);
}

int64_t Scheduler::diagonal(int64_t t_out, int64_t pos, Dir d) const {
    const int64_t t = pos / m_spec.stream.slices_per_hop * m_spec.stream.hop_cycles;
    return d == Dir::East ? t_out - t : t_out + t;
}

bool Scheduler::try_streams(int64_t d0, int64_t d1, Dir dir, int width, int& id, int64_t& bump,
                            const std::vector<std::tuple<std::string, int64_t, int64_t>>& taken) const {
    int64_t least = INT64_MAX;
    const std::string base = std::string("s/") + (dir == Dir::East ? "E/" : "W/");
    for (int first = 0; first + width <= m_spec.stream.per_direction; ++first) {
        std::optional<int64_t> worst;
        bool clash = false;
        for (int k = 0; k < width; ++k) {
            const std::string key = base + std::to_string(first + k);
            for (const auto& [tk, a, b] : taken) clash |= tk == key && a < d1 && d0 < b;
            auto it = m_res.find(key);
            if (it == m_res.end()) continue;
            if (const auto e = it->second.conflict_end(d0, d1)) worst = std::max(worst.value_or(*e), *e);
        }
        if (clash) continue;
        if (!worst) {
            id = first;
            return true;
        }
        least = std::min(least, *worst - d0);
    }
    bump = std::max<int64_t>(1, least);
    return false;
}

namespace {
std::string port_of(const Stage& s) {
    const Unit u = isa::lpu::unit_of(s.op);
    if (u == Unit::Mem) return s.op == Op::Write || s.op == Op::Scatter ? "w" : "r";
    return "x";
}
bool is_mem(const Stage& s) { return isa::lpu::unit_of(s.op) == Unit::Mem; }
}  // namespace

Placed Scheduler::place(const std::vector<Stage>& stages, int64_t repeat, int64_t stride, int64_t ready,
                        const std::string& node, const std::vector<Stage>& side, std::size_t join, std::size_t gate,
                        int64_t gate_cycle) {
    if (stages.empty() || repeat < 1) return {ready, ready, {}};
    const std::size_t n = stages.size();
    std::vector<int64_t> pos(n), lat(n), off(n);
    for (std::size_t k = 0; k < n; ++k) {
        pos[k] = position(stages[k].queue);
        Instr probe;
        probe.op = stages[k].op;
        probe.length = stages[k].length;
        lat[k] = output_latency(m_spec, probe);
    }
    off[0] = 0;
    for (std::size_t k = 1; k < n; ++k) off[k] = off[k - 1] + lat[k - 1] + travel(pos[k - 1], pos[k]);
    // The side producer (one stage) issues so that its vectors reach stage `join` with the main ones.
    int64_t side_off = 0, side_pos = 0, side_lat = 0;
    const bool has_side = !side.empty();
    if (has_side) {
        side_pos = position(side[0].queue);
        Instr probe;
        probe.op = side[0].op;
        side_lat = output_latency(m_spec, probe);
        side_off = off[join] - side_lat - travel(side_pos, pos[join]);
    }
    int64_t t = std::max(ready, has_side ? ready - side_off : ready);
    if (gate < n && gate_cycle != INT64_MIN) t = std::max(t, gate_cycle - off[gate]);
    struct Window {
        std::string key;
        int64_t a, b;
    };
    for (int guard = 0;; ++guard) {
        if (guard > 1000000) throw sim::Error("lpu scheduler: no free slot for " + node + " (resource table saturated)");
        std::vector<Window> windows;
        std::vector<int> ids(n, -1);
        int side_id = -1;
        int64_t bump = 0;
        auto stage_window = [&](const Stage& s, int64_t issue) {
            const int64_t reps = std::max<int64_t>(1, repeat / s.repeat_divisor);
            const int64_t step = stride * s.repeat_divisor;
            const int64_t a = issue + s.offset * stride, b = a + (reps - 1) * step + 1;
            windows.push_back({"q/" + s.queue + "/" + port_of(s), a, b});
            if (is_mem(s)) windows.push_back({"b/" + s.queue + "/" + std::to_string(s.address % m_spec.mem.banks), a, b});
        };
        for (std::size_t k = 0; k < n; ++k) stage_window(stages[k], t + off[k]);
        if (has_side) stage_window(side[0], t + side_off);
        for (const auto& w : windows) {
            auto it = m_res.find(w.key);
            if (it == m_res.end()) continue;
            if (const auto e = it->second.conflict_end(w.a, w.b)) bump = std::max(bump, *e - w.a);
        }
        std::vector<std::tuple<std::string, int64_t, int64_t>> taken;
        auto stream_for = [&](int64_t t_out, int64_t from, int64_t to, int width, int& id) {
            const Dir d = to >= from ? Dir::East : Dir::West;
            const int64_t d0 = diagonal(t_out, from, d), d1 = d0 + (repeat - 1) * stride + 1;
            int64_t b = 0;
            if (!try_streams(d0, d1, d, width, id, b, taken)) {
                bump = std::max(bump, b);
                return;
            }
            for (int k = 0; k < width; ++k)
                taken.emplace_back(std::string("s/") + (d == Dir::East ? "E/" : "W/") + std::to_string(id + k), d0, d1);
        };
        for (std::size_t k = 0; k + 1 < n && bump == 0; ++k)
            if (stages[k].out_width > 0) stream_for(t + off[k] + lat[k], pos[k], pos[k + 1], stages[k].out_width, ids[k]);
        if (has_side && bump == 0) stream_for(t + side_off + side_lat, side_pos, pos[join], side[0].out_width, side_id);
        if (bump > 0) {
            t += bump;
            continue;
        }
        // Free: reserve and emit.
        for (const auto& w : windows) m_res[w.key].add(w.a, w.b);
        auto reserve_stream = [&](int64_t t_out, int64_t from, int64_t to, int width, int id) {
            const Dir d = to >= from ? Dir::East : Dir::West;
            const int64_t d0 = diagonal(t_out, from, d);
            for (int k = 0; k < width; ++k)
                m_res[std::string("s/") + (d == Dir::East ? "E/" : "W/") + std::to_string(id + k)].add(
                    d0, d0 + (repeat - 1) * stride + 1);
            return StreamRef{d, id, width};
        };
        std::vector<StreamRef> outs(n);
        std::vector<int64_t> tags(n, -1);
        for (std::size_t k = 0; k + 1 < n; ++k)
            if (stages[k].out_width > 0) {
                outs[k] = reserve_stream(t + off[k] + lat[k], pos[k], pos[k + 1], stages[k].out_width, ids[k]);
                tags[k] = m_next_tag++;
            }
        StreamRef side_out;
        int64_t side_tag = -1;
        if (has_side) {
            side_out = reserve_stream(t + side_off + side_lat, side_pos, pos[join], side[0].out_width, side_id);
            side_tag = m_next_tag++;
            Instr s;
            s.chip = m_chip, s.queue = side[0].queue, s.cycle = t + side_off, s.op = side[0].op;
            s.repeat = repeat, s.stride = stride, s.out = side_out, s.address = side[0].address;
            s.length = side[0].length, s.tag = side_tag, s.node = node;
            m_program.instructions.push_back(s);
        }
        Placed placed{t, t, {}};
        for (std::size_t k = 0; k < n; ++k) {
            const Stage& st = stages[k];
            Instr i;
            i.chip = m_chip;
            i.queue = st.queue;
            i.op = st.op;
            i.repeat = std::max<int64_t>(1, repeat / st.repeat_divisor);
            i.stride = stride * st.repeat_divisor;
            i.cycle = t + off[k] + st.offset * stride;
            i.address = st.address;
            i.length = st.length;
            i.node = node;
            if (k > 0 && stages[k - 1].out_width > 0) i.in = outs[k - 1], i.expect = tags[k - 1];
            if (has_side && k == join) i.in2 = side_out, i.expect2 = side_tag;
            if (k + 1 < n) i.out = outs[k], i.tag = tags[k];
            m_program.instructions.push_back(i);
            placed.issues.push_back(i.cycle);
            placed.end = std::max(placed.end, i.cycle + (i.repeat - 1) * i.stride + isa::lpu::busy_cycles(m_spec, i));
        }
        return placed;
    }
}

int64_t Scheduler::lw_cycle(const std::string& plane, const std::vector<int>& slices, int64_t vectors, int64_t ready,
                            int64_t buffer_free, int& id, const std::string& node) const {
    const std::string wq = plane + ".W";
    const int64_t p_mxm = position(plane);
    const int width = static_cast<int>(slices.size());
    Instr probe;
    probe.op = Op::Read;
    const int64_t lr = output_latency(m_spec, probe);
    int64_t lead = 0;
    for (int s : slices) lead = std::max(lead, lr + travel(position(mem_queue(s)), p_mxm));
    // The LW's cycle: as soon as its bytes can be read (their Reads issue `lead` cycles before) and
    // the plane's load buffer is free (after its previous IW), so it overlaps the previous tile's ABCs.
    int64_t t = std::max(ready + lead, buffer_free);
    const Dir d = p_mxm >= position(mem_queue(slices.front())) ? Dir::East : Dir::West;
    for (int guard = 0;; ++guard) {
        if (guard > 1000000) throw sim::Error("lpu scheduler: no slot to install weights for " + node);
        int64_t bump = 0;
        auto check = [&](const std::string& key, int64_t a, int64_t b) {
            auto it = m_res.find(key);
            if (it == m_res.end()) return;
            if (const auto e = it->second.conflict_end(a, b)) bump = std::max(bump, *e - a);
        };
        check("q/" + wq + "/x", t, t + vectors);
        for (int s : slices) {
            const std::string q = mem_queue(s);
            const int64_t r = t - lr - travel(position(q), p_mxm);
            check("q/" + q + "/r", r, r + vectors);
            check("b/" + q + "/0", r, r + vectors);
        }
        id = -1;
        if (bump == 0) {
            const int64_t d0 = diagonal(t, p_mxm, d);  // the vectors' diagonal where the LW meets them
            if (!try_streams(d0, d0 + vectors, d, width, id, bump)) {}
        }
        if (bump == 0) return t;
        t += bump;
    }
}

std::size_t Scheduler::install_width(const std::string& plane, const std::vector<int>& slices, int64_t tile_vectors,
                                     int64_t ready, int64_t buffer_free, const std::string& node) const {
    // Fewer slices stream a tile in more cycles but take fewer of the direction's stream
    // registers, so the LW can run beside the activations streaming to the planes of its
    // hemisphere: the width whose LW ends first (the widest of equals).
    const std::size_t n = slices.size();
    std::size_t best = n;
    int64_t best_end = INT64_MAX;
    for (std::size_t w : {n, n * 3 / 4, n / 2, n / 4}) {
        if (w == 0 || (w < n && w == best)) continue;
        int id = -1;
        const std::vector<int> some(slices.begin(), slices.begin() + static_cast<std::ptrdiff_t>(w));
        const int64_t v = (tile_vectors + static_cast<int64_t>(w) - 1) / static_cast<int64_t>(w);
        const int64_t end = lw_cycle(plane, some, v, ready, buffer_free, id, node) + v;
        if (end < best_end) best_end = end, best = w;
    }
    return best;
}

int64_t Scheduler::install(const std::string& plane, const std::vector<int>& slices, int64_t vectors, int64_t ready,
                           int64_t buffer_free, int64_t install_after, const std::string& node) {
    const std::string wq = plane + ".W";
    const int64_t p_mxm = position(plane);
    const int width = static_cast<int>(slices.size());
    Instr probe;
    probe.op = Op::Read;
    const int64_t lr = output_latency(m_spec, probe);
    const Dir d = p_mxm >= position(mem_queue(slices.front())) ? Dir::East : Dir::West;
    int id = -1;
    const int64_t t = lw_cycle(plane, slices, vectors, ready, buffer_free, id, node);
    m_res["q/" + wq + "/x"].add(t, t + vectors);
    const int64_t tag = m_next_tag++;
    for (int k = 0; k < width; ++k) {
        const std::string q = mem_queue(slices[static_cast<std::size_t>(k)]);
        const int64_t r = t - lr - travel(position(q), p_mxm);
        m_res["q/" + q + "/r"].add(r, r + vectors);
        m_res["b/" + q + "/0"].add(r, r + vectors);
        const int64_t d0 = diagonal(t, p_mxm, d);
        m_res[std::string("s/") + (d == Dir::East ? "E/" : "W/") + std::to_string(id + k)].add(d0, d0 + vectors);
        Instr i;
        i.chip = m_chip, i.queue = q, i.cycle = r, i.op = Op::Read, i.repeat = vectors, i.stride = 1;
        i.out = {d, id + k, 1}, i.tag = tag, i.node = node, i.address = 0;
        m_program.instructions.push_back(i);
    }
    Instr lw;
    lw.chip = m_chip, lw.queue = wq, lw.cycle = t, lw.op = Op::LW, lw.repeat = vectors, lw.stride = 1;
    lw.in = {d, id, width}, lw.expect = tag, lw.node = node;
    m_program.instructions.push_back(lw);
    // IW swaps the loaded weights in once the plane's previous tile is done.
    int64_t iw = std::max(t + vectors, install_after);
    while (m_res["q/" + wq + "/x"].conflict_end(iw, iw + 1)) ++iw;
    m_res["q/" + wq + "/x"].add(iw, iw + 1);
    Instr in;
    in.chip = m_chip, in.queue = wq, in.cycle = iw, in.op = Op::IW, in.node = node;
    m_program.instructions.push_back(in);
    return iw;
}

int64_t Scheduler::host_gap(int64_t cycles, int64_t ready, const std::string& node) {
    int64_t t = ready;
    while (m_res["q/ICU/x"].conflict_end(t, t + 1)) ++t;
    m_res["q/ICU/x"].add(t, t + 1);
    Instr i;
    i.chip = m_chip, i.queue = "ICU", i.cycle = t, i.op = Op::Nop, i.count = std::max<int64_t>(1, cycles), i.node = node;
    m_program.instructions.push_back(i);
    return t + std::max<int64_t>(1, cycles);
}

int64_t Scheduler::send(Scheduler& peer, uint64_t bytes, int64_t ready, const std::string& node) {
    // The sender's link to the peer carries the bytes for bytes / bandwidth cycles ("l/<link>",
    // one direction; links are full duplex). Each link has its own queue, "C2C.<link>", which
    // issues one Send or Receive a cycle. The Receive issues once the last byte has crossed the
    // route's hops (LpuSpec::c2c_cycles).
    const auto out = m_spec.c2c_route(m_chip, peer.m_chip);
    const auto back = m_spec.c2c_route(peer.m_chip, m_chip);
    const int64_t busy = m_spec.c2c_serialize_cycles(bytes);
    const std::string link = "l/" + std::to_string(out.link);
    const std::string send_q = "C2C." + std::to_string(out.link), recv_q = "C2C." + std::to_string(back.link);
    int64_t t = ready;
    for (;;) {
        const auto on_link = m_res[link].conflict_end(t, t + busy);
        const auto on_queue = m_res["q/" + send_q + "/x"].conflict_end(t, t + 1);
        if (!on_link && !on_queue) break;
        t = std::max(on_link.value_or(t), on_queue.value_or(t));
    }
    m_res[link].add(t, t + busy);
    m_res["q/" + send_q + "/x"].add(t, t + 1);
    int64_t r = t + m_spec.c2c_cycles(bytes, m_chip, peer.m_chip);
    while (peer.m_res["q/" + recv_q + "/x"].conflict_end(r, r + 1)) ++r;
    peer.m_res["q/" + recv_q + "/x"].add(r, r + 1);
    const int64_t tag = static_cast<int64_t>(m_chip) * 1000000 + m_next_transfer++;
    Instr s;
    s.chip = m_chip, s.queue = send_q, s.cycle = t, s.op = Op::Send, s.count = static_cast<int64_t>(bytes);
    s.peer = peer.m_chip, s.link = out.link, s.tag = tag, s.node = node;
    Instr rc;
    rc.chip = peer.m_chip, rc.queue = recv_q, rc.cycle = r, rc.op = Op::Receive, rc.count = static_cast<int64_t>(bytes);
    rc.peer = m_chip, rc.link = back.link, rc.tag = tag, rc.node = node;
    m_program.instructions.push_back(s);
    m_program.instructions.push_back(rc);
    return r + 1;
}

}  // namespace xpusim::lower::lpu
