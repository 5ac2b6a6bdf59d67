#include "sim/trace/trace.h"

#include <fstream>

#include "sim/error.h"
#include "sim/json.h"

namespace xpusim::sim {

int TraceLog::add_process(const std::string& name) {
    const int pid = static_cast<int>(m_processes.size()) + 1;
    m_processes.emplace_back(pid, name);
    return pid;
}

int TraceLog::add_track(int pid, const std::string& name) {
    const int tid = static_cast<int>(m_tracks.size()) + 1;
    m_tracks.emplace_back(pid, tid, name);
    return tid;
}

void TraceLog::complete(int pid, int tid, const std::string& name, uint64_t start,
                        uint64_t duration, nlohmann::json args) {
    m_events.push_back({'X', pid, tid, name, start, duration, 0.0, std::move(args)});
}

void TraceLog::counter(int pid, const std::string& name, uint64_t time, double value) {
    m_events.push_back({'C', pid, 0, name, time, 0, value, {}});
}

double TraceLog::to_us(uint64_t t) const {
    return m_clock_hz > 0 ? static_cast<double>(t) / m_clock_hz * 1e6
                          : static_cast<double>(t) / 1e3;
}

nlohmann::json TraceLog::to_json_metadata() const {
    nlohmann::json events = nlohmann::json::array();
    for (const auto& [pid, name] : m_processes) {
        events.push_back({{"ph", "M"},
                          {"name", "process_name"},
                          {"pid", pid},
                          {"tid", 0},
                          {"args", {{"name", name}}}});
    }
    int sort_index = 0;
    for (const auto& [pid, tid, name] : m_tracks) {
        events.push_back({{"ph", "M"},
                          {"name", "thread_name"},
                          {"pid", pid},
                          {"tid", tid},
                          {"args", {{"name", name}}}});
        events.push_back({{"ph", "M"},
                          {"name", "thread_sort_index"},
                          {"pid", pid},
                          {"tid", tid},
                          {"args", {{"sort_index", sort_index++}}}});
    }
    return events;
}

nlohmann::json TraceLog::to_json() const {
    nlohmann::json events = to_json_metadata();
    for (const Event& e : m_events) {
        nlohmann::json j = {{"ph", std::string(1, e.phase)},
                            {"pid", e.pid},
                            {"name", e.name},
                            {"ts", to_us(e.start)}};
        if (e.phase == 'X') {
            j["tid"] = e.tid;
            j["dur"] = to_us(e.duration);
            if (!e.args.is_null()) j["args"] = e.args;
        } else {
            j["tid"] = 0;
            j["args"] = {{"value", e.value}};
        }
        events.push_back(std::move(j));
    }
    return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

void TraceLog::write(const std::string& path) const {
    std::ofstream out(path);
    if (!out) throw IoError("cannot write trace '" + path + "'");
    // The document to_json() builds, written event by event (one per line) without building it:
    // a trace of 10^5 events is most of a fast run's time as one JSON object.
    auto number = [](double v) { return json_text(nlohmann::json(v)); };
    out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
    const nlohmann::json doc = to_json_metadata();
    bool first = true;
    for (const auto& e : doc) {
        out << (first ? "\n" : ",\n") << json_text(e);
        first = false;
    }
    for (const Event& e : m_events) {
        out << (first ? "\n" : ",\n") << '{';
        first = false;
        if (e.phase == 'X') {
            if (!e.args.is_null()) out << "\"args\":" << json_text(e.args) << ',';
            out << "\"dur\":" << number(to_us(e.duration)) << ',';
        } else {
            out << "\"args\":{\"value\":" << number(e.value) << "},";
        }
        out << "\"name\":" << json_text(nlohmann::json(e.name)) << ",\"ph\":\"" << e.phase << "\",\"pid\":" << e.pid
            << ",\"tid\":" << (e.phase == 'X' ? e.tid : 0) << ",\"ts\":" << number(to_us(e.start)) << '}';
    }
    out << "\n]}\n";
    if (!out) throw IoError("error writing trace '" + path + "'");
}

}  // namespace xpusim::sim
