#include "models/lpu/lpu_checker.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "sim/error.h"

namespace xpusim::models::lpu {

using isa::lpu::Dir;
using isa::lpu::Op;
using isa::lpu::StreamRef;
using isa::lpu::Unit;

namespace {

using i128 = __int128;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// x with a x = 1 (mod m), m >= 1, gcd(a, m) = 1.
int64_t inverse(int64_t a, int64_t m) {
    int64_t g = m, x = 0, x1 = 1, a1 = ((a % m) + m) % m;
    while (a1 != 0) {
        const int64_t q = g / a1;
        std::tie(g, a1) = std::make_pair(a1, g - q * a1);
        std::tie(x, x1) = std::make_pair(x1, x - q * x1);
    }
    return ((x % m) + m) % m;
}

bool contains(const Seq& s, int64_t v) {
    if (v < s.first || v > s.last()) return false;
    return s.n == 1 ? v == s.first : (v - s.first) % s.stride == 0;
}

std::string stream_name(const StreamKey& k);

}  // namespace

bool intersect(const Seq& a, const Seq& b) {
    if (a.n < 1 || b.n < 1) return false;
    if (a.last() < b.first || b.last() < a.first) return false;
    if (a.n == 1) return contains(b, a.first);
    if (b.n == 1) return contains(a, b.first);
    // a.first + i a.stride = b.first + j b.stride: i = i0 (mod m), m = b.stride / g.
    const int64_t g = std::gcd(a.stride, b.stride);
    const int64_t diff = b.first - a.first;
    if (diff % g != 0) return false;
    const int64_t m = b.stride / g;
    const int64_t i0 = static_cast<int64_t>((static_cast<i128>(((diff / g) % m + m) % m) * inverse(a.stride / g, m)) % m);
    // The smallest i >= max(0, ceil(diff / a.stride)) (so that j >= 0) with i = i0 (mod m); j grows with i.
    const int64_t lo = std::max<int64_t>(0, ceil_div(diff, a.stride));
    const int64_t i = lo + ((i0 - lo % m) % m + m) % m;
    if (i >= a.n) return false;
    const i128 j = (static_cast<i128>(a.first) + static_cast<i128>(i) * a.stride - b.first) / b.stride;
    return j >= 0 && j < b.n;
}

bool covers(const Seq& outer, const Seq& inner) {
    if (!contains(outer, inner.first) || !contains(outer, inner.last())) return false;
    if (inner.n == 1) return true;
    return outer.n > 1 && inner.stride % outer.stride == 0;
}

ScheduleChecker::ScheduleChecker(const LpuProgram& p) : m_program(p) {}

int64_t ScheduleChecker::travel(int64_t position) const {
    const auto& st = m_program.spec.stream;
    return position / st.slices_per_hop * st.hop_cycles;
}

Seq ScheduleChecker::diagonals(const Instr& i, int64_t offset, Dir dir, int64_t position) const {
    const int64_t t = i.cycle + offset;
    return {dir == Dir::East ? t - travel(position) : t + travel(position), i.stride, i.repeat};
}

void ScheduleChecker::record(std::size_t index) {
    m_recorded.push_back(index);
    const Instr& i = m_program.instructions[index];
    const int64_t pos = isa::lpu::queue_position(i.queue, m_program.spec.mem.slices);
    auto each = [&](const StreamRef& s, auto&& fn) {
        if (!s.valid()) return;
        for (int k = 0; k < s.width; ++k) fn(StreamKey{i.chip, static_cast<int>(s.dir), s.id + k});
    };
    each(i.out, [&](const StreamKey& key) {
        m_writers[key].push_back({index, pos, diagonals(i, output_latency(m_program.spec, i), i.out.dir, pos)});
    });
    each(i.in, [&](const StreamKey& key) { m_readers.emplace_back(key, Access{index, pos, diagonals(i, 0, i.in.dir, pos)}, i.expect, 1); });
    each(i.in2, [&](const StreamKey& key) { m_readers.emplace_back(key, Access{index, pos, diagonals(i, 0, i.in2.dir, pos)}, i.expect2, 2); });
}

namespace {
std::string stream_name(const StreamKey& k) {
    return std::string(std::get<1>(k) == static_cast<int>(Dir::East) ? "E" : "W") + std::to_string(std::get<2>(k));
}
}  // namespace

void ScheduleChecker::fail(std::size_t index, const std::string& stream, const std::string& what) const {
    const Instr& i = m_program.instructions[index];
    throw sim::ScheduleError("lpu schedule: chip " + std::to_string(i.chip) + ", queue " + i.queue +
                             ", instruction #" + std::to_string(index) + " (" + isa::lpu::op_name(i.op) +
                             (i.node.empty() ? "" : " of " + i.node) + ") at cycle " + std::to_string(i.cycle) +
                             (stream.empty() ? "" : ", stream " + stream) + ": " + what);
}

void ScheduleChecker::check() const {
    check_queues();
    check_streams();
    check_mem();
    check_sync();
    check_c2c();
}

void ScheduleChecker::check_streams() const {
    // Writers per stream register, by their first diagonal: only those whose diagonal ranges
    // overlap need the exact test (a sweep, not all pairs).
    std::map<StreamKey, std::vector<Access>> sorted = m_writers;
    for (auto& [key, ws] : sorted) {
        std::sort(ws.begin(), ws.end(), [](const Access& a, const Access& b) { return a.diagonals.first < b.diagonals.first; });
        for (std::size_t a = 0; a < ws.size(); ++a)
            for (std::size_t b = a + 1; b < ws.size() && ws[b].diagonals.first <= ws[a].diagonals.last(); ++b)
                if (ws[a].position == ws[b].position && intersect(ws[a].diagonals, ws[b].diagonals))
                    fail(std::max(ws[a].instr, ws[b].instr), stream_name(key),
                         "writes the stream register instruction #" + std::to_string(std::min(ws[a].instr, ws[b].instr)) +
                             " writes in the same cycle");
    }
    const auto& ins = m_program.instructions;
    std::map<std::pair<StreamKey, int64_t>, std::vector<const Access*>> by_tag;
    for (const auto& [key, ws] : sorted)
        for (const Access& w : ws) by_tag[{key, ins[w.instr].tag}].push_back(&w);
    for (const auto& [key, r, expect, operand] : m_readers) {
        const bool east = std::get<1>(key) == static_cast<int>(Dir::East);
        auto upstream = [&](int64_t p) { return east ? p <= r.position : p >= r.position; };
        auto it = sorted.find(key);
        const Access* producer = nullptr;
        if (auto t = by_tag.find({key, expect}); t != by_tag.end())
            for (const Access* w : t->second)
                if (upstream(w->position)) producer = w;
        const std::string which = operand == 1 ? "its input" : "its second input";
        if (!producer)
            fail(r.instr, stream_name(key),
                 which + " expects vector " + std::to_string(expect) + ", which no instruction upstream writes");
        if (!covers(producer->diagonals, r.diagonals))
            fail(r.instr, stream_name(key),
                 which + " reads in cycles where vector " + std::to_string(expect) + " (instruction #" +
                     std::to_string(producer->instr) + ") is not passing");
        for (const Access& w : it->second) {
            if (w.diagonals.first > r.diagonals.last()) break;  // sorted: none later overlaps
            if (&w == producer) continue;
            // A unit reads the register arriving at its slice before it writes the one leaving it,
            // so a write at the consumer's own slice is downstream of its read.
            const bool between = east ? (w.position > producer->position && w.position < r.position)
                                      : (w.position < producer->position && w.position > r.position);
            if (between && intersect(w.diagonals, r.diagonals))
                fail(r.instr, stream_name(key),
                     which + " expects vector " + std::to_string(expect) + " but instruction #" +
                         std::to_string(w.instr) + " overwrote the stream in between");
        }
    }
}

void ScheduleChecker::check_mem() const {
    struct Port {
        std::size_t instr;
        Seq cycles;
        int64_t bank;
        bool write;
    };
    std::map<std::pair<int, std::string>, std::vector<Port>> slices;
    const auto& ins = m_program.instructions;
    for (std::size_t idx : m_recorded) {
        const Instr& i = ins[idx];
        if (isa::lpu::unit_of(i.op) != Unit::Mem) continue;
        const bool write = i.op == Op::Write || i.op == Op::Scatter;
        slices[{i.chip, i.queue}].push_back({idx, {i.cycle, i.stride, i.repeat}, i.address % m_program.spec.mem.banks, write});
    }
    for (auto& [slice, ports] : slices) {
        std::sort(ports.begin(), ports.end(), [](const Port& a, const Port& b) { return a.cycles.first < b.cycles.first; });
        for (std::size_t a = 0; a < ports.size(); ++a)
            for (std::size_t b = a + 1; b < ports.size() && ports[b].cycles.first <= ports[a].cycles.last(); ++b) {
                const Port &x = ports[a], &y = ports[b];
                const bool clash = x.write == y.write || x.bank == y.bank;
                if (clash && intersect(x.cycles, y.cycles))
                    fail(y.instr, "",
                         std::string(x.write == y.write ? (x.write ? "a second write" : "a second read")
                                                        : "a read and a write on one bank") +
                             " in one cycle on this MEM slice (with instruction #" + std::to_string(x.instr) + ")");
            }
    }
}

void ScheduleChecker::check_queues() const {
    // A MEM slice's queue issues one read and one write per cycle: two ports.
    std::map<std::pair<int, std::string>, std::vector<std::size_t>> queues;
    for (std::size_t idx : m_recorded) {
        const Instr& i = m_program.instructions[idx];
        const bool mem = isa::lpu::unit_of(i.op) == Unit::Mem;
        const bool write = i.op == Op::Write || i.op == Op::Scatter;
        queues[{i.chip, mem ? i.queue + (write ? "/w" : "/r") : i.queue}].push_back(idx);
    }
    for (auto& [q, list] : queues) {
        std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
            return m_program.instructions[a].cycle < m_program.instructions[b].cycle;
        });
        for (std::size_t a = 0; a < list.size(); ++a) {
            const Instr& x = m_program.instructions[list[a]];
            const Seq sx{x.cycle, x.stride, x.repeat};
            for (std::size_t b = a + 1; b < list.size(); ++b) {
                const Instr& y = m_program.instructions[list[b]];
                if (y.cycle > sx.last()) break;
                if (intersect(sx, {y.cycle, y.stride, y.repeat}))
                    fail(list[b], "", "issues in a cycle its queue already issues instruction #" +
                                          std::to_string(list[a]) + " in");
            }
        }
    }
}

void ScheduleChecker::check_sync() const {
    const auto& ins = m_program.instructions;
    std::map<std::pair<int, int64_t>, std::vector<std::size_t>> notifies;
    std::set<std::pair<int, int64_t>> awaited;
    std::map<std::pair<int, std::string>, std::vector<std::size_t>> queues;
    for (std::size_t idx : m_recorded) {
        const Instr& i = ins[idx];
        if (i.op == Op::Notify) notifies[{i.chip, i.count}].push_back(idx);
        queues[{i.chip, i.queue}].push_back(idx);
    }
    for (auto& [q, list] : queues) {
        std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) { return ins[a].cycle < ins[b].cycle; });
        for (std::size_t a = 0; a < list.size(); ++a) {
            const Instr& s = ins[list[a]];
            if (s.op != Op::Sync) continue;
            auto n = notifies.find({s.chip, s.count});
            if (n == notifies.end())
                fail(list[a], "", "waits on barrier " + std::to_string(s.count) + ", which no Notify releases");
            awaited.insert({s.chip, s.count});
            int64_t release = INT64_MAX;
            for (std::size_t k : n->second) release = std::min(release, ins[k].cycle);
            if (a + 1 < list.size() && ins[list[a + 1]].cycle <= release)
                fail(list[a + 1], "",
                     "issues at cycle " + std::to_string(ins[list[a + 1]].cycle) + ", before barrier " +
                         std::to_string(s.count) + " is released at cycle " + std::to_string(release));
        }
    }
    for (const auto& [key, list] : notifies)
        if (!awaited.count(key)) fail(list.front(), "", "notifies barrier " + std::to_string(key.second) + ", which no Sync awaits");
}

void ScheduleChecker::check_c2c() const {
    const auto& ins = m_program.instructions;
    std::map<int64_t, std::vector<std::size_t>> sends, receives;
    std::map<std::pair<int, int>, std::vector<std::size_t>> links;
    for (std::size_t idx : m_recorded) {
        const Instr& i = ins[idx];
        if (i.op == Op::Send) sends[i.tag].push_back(idx), links[{i.chip, i.link}].push_back(idx);
        if (i.op == Op::Receive) receives[i.tag].push_back(idx);
    }
    for (const auto& [tag, list] : sends) {
        const Instr& s = ins[list.front()];
        auto r = receives.find(tag);
        if (list.size() > 1) fail(list[1], "", "sends transfer " + std::to_string(tag) + " a second time");
        if (r == receives.end() || r->second.size() != 1)
            fail(list.front(), "", "sends transfer " + std::to_string(tag) + ", which " +
                                       (r == receives.end() ? "no Receive takes" : "more than one Receive takes"));
        const Instr& rc = ins[r->second.front()];
        if (rc.chip != s.peer || rc.peer != s.chip)
            fail(r->second.front(), "", "receives transfer " + std::to_string(tag) + " sent from chip " +
                                            std::to_string(s.chip) + " to chip " + std::to_string(s.peer));
        if (s.peer < 0 || s.peer >= m_program.chips || s.peer == s.chip)
            fail(list.front(), "", "sends transfer " + std::to_string(tag) + " to chip " + std::to_string(s.peer) +
                                       ", which is not another chip of the program");
        const auto route = m_program.spec.c2c_route(s.chip, s.peer);
        if (s.link != route.link)
            fail(list.front(), "", "sends to chip " + std::to_string(s.peer) + " on link " + std::to_string(s.link) +
                                       "; the topology connects them by link " + std::to_string(route.link));
        const int64_t arrive = s.cycle + m_program.spec.c2c_cycles(static_cast<uint64_t>(s.count), s.chip, s.peer);
        if (rc.link != m_program.spec.c2c_route(rc.chip, rc.peer).link)
            fail(r->second.front(), "", "receives from chip " + std::to_string(rc.peer) + " on link " +
                                            std::to_string(rc.link) + "; the topology connects them by link " +
                                            std::to_string(m_program.spec.c2c_route(rc.chip, rc.peer).link));
        if (rc.cycle < arrive)
            fail(r->second.front(), "", "receives transfer " + std::to_string(tag) + " at cycle " +
                                            std::to_string(rc.cycle) + ", before it arrives at cycle " +
                                            std::to_string(arrive));
    }
    for (const auto& [tag, list] : receives)
        if (!sends.count(tag)) fail(list.front(), "", "receives transfer " + std::to_string(tag) + ", which no Send sends");
    for (auto& [link, list] : links) {
        std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) { return ins[a].cycle < ins[b].cycle; });
        for (std::size_t a = 1; a < list.size(); ++a) {
            const Instr& prev = ins[list[a - 1]];
            if (ins[list[a]].cycle < prev.cycle + m_program.spec.c2c_serialize_cycles(static_cast<uint64_t>(prev.count)))
                fail(list[a], "", "sends on link " + std::to_string(link.second) + " while instruction #" +
                                      std::to_string(list[a - 1]) + " still occupies it");
        }
    }
}

}  // namespace xpusim::models::lpu
