#include "frontends/lower/calibration.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "frontends/onnx/executor.h"
#include "frontends/onnx/random_inputs.h"
#include "sim/tensor/npy.h"

namespace xpusim::lower {

namespace fs = std::filesystem;

namespace {

// Calibration draws start this far from the evaluation seed, so that no seed's evaluation
// input is another seed's calibration sample for small seeds.
constexpr uint64_t kCalibrationSeedOffset = 1000;

ValueRange range_of(const sim::Tensor& t, const sim::QuantSpec& quant) {
    ValueRange r;
    if (!sim::is_float(t.dtype()) || t.numel() == 0) return r;
    const sim::Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    const float* p = f.data<float>();
    r.min = r.max = p[0];
    for (int64_t i = 0; i < f.numel(); ++i) {
        r.min = std::min(r.min, p[i]);
        r.max = std::max(r.max, p[i]);
    }
    r.absmax = std::max(std::fabs(r.min), std::fabs(r.max));
    r.percentile = r.absmax;
    if (quant.calibration == "percentile" && f.numel() > 1) {
        std::vector<float> mags(static_cast<std::size_t>(f.numel()));
        for (int64_t i = 0; i < f.numel(); ++i) mags[i] = std::fabs(p[i]);
        const auto k = static_cast<std::size_t>(std::clamp(quant.percentile / 100.0, 0.0, 1.0) *
                                                static_cast<double>(mags.size() - 1));
        std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(k), mags.end());
        r.percentile = mags[k];
    }
    return r;
}

// Ranges over several samples: the extremes, and the largest per-sample percentile.
void merge(ValueRange& into, const ValueRange& r, bool first) {
    if (first) {
        into = r;
        return;
    }
    into.min = std::min(into.min, r.min);
    into.max = std::max(into.max, r.max);
    into.absmax = std::max(into.absmax, r.absmax);
    into.percentile = std::max(into.percentile, r.percentile);
}

SampleMap read_sample(const fs::path& dir) {
    SampleMap sample;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".npy") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) sample[f.stem().string()] = sim::read_npy(f.string());
    return sample;
}

}  // namespace

nlohmann::json CalibrationUse::to_json() const {
    nlohmann::json j = {{"source", source}, {"samples", samples}};
    for (const auto& [k, v] : detail.items()) j[k] = v;
    return j;
}

CalibrationSet CalibrationSet::drawn(uint64_t seed) {
    CalibrationSet s;
    s.m_source = "drawn";
    s.m_seed = seed + kCalibrationSeedOffset;
    return s;
}

CalibrationSet CalibrationSet::given(std::vector<SampleMap> samples) {
    if (samples.empty()) throw sim::ModelError("calibration: no samples given");
    CalibrationSet s;
    s.m_source = "given";
    s.m_samples = std::move(samples);
    return s;
}

CalibrationSet CalibrationSet::from_folder(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw sim::IoError("--calibration '" + dir + "' is not a folder");
    CalibrationSet s;
    s.m_source = "files";
    s.m_folder = dir;
    std::vector<fs::path> subdirs;
    bool files_here = false;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.is_directory()) subdirs.push_back(e.path());
        if (e.path().extension() == ".npy") files_here = true;
    }
    if (ec) throw sim::IoError("cannot list --calibration '" + dir + "': " + ec.message());
    if (files_here && !subdirs.empty())
        throw sim::ModelError("--calibration '" + dir +
                              "' holds both .npy files and sub-folders: give one sample as files, "
                              "or one sub-folder per sample");
    std::sort(subdirs.begin(), subdirs.end());
    if (files_here) s.m_samples.push_back(read_sample(dir));
    for (const auto& d : subdirs) s.m_samples.push_back(read_sample(d));
    if (s.m_samples.empty())
        throw sim::ModelError("--calibration '" + dir + "' holds no .npy sample");
    return s;
}

const std::vector<SampleMap>& CalibrationSet::samples(const frontend::Graph& graph,
                                                      int64_t drawn_count) const {
    if (m_ready) return m_samples;
    if (m_source == "drawn")
        for (int64_t i = 0; i < drawn_count; ++i)
            m_samples.push_back(
                frontend::make_random_inputs(graph, m_seed + static_cast<uint64_t>(i)));
    for (std::size_t i = 0; i < m_samples.size(); ++i) {
        try {
            frontend::check_inputs(graph, m_samples[i]);
        } catch (const sim::ModelError& e) {
            throw sim::ModelError("calibration sample " + std::to_string(i) +
                                  (m_folder.empty() ? "" : " in '" + m_folder + "'") + ": " +
                                  e.what());
        }
    }
    m_ready = true;
    return m_samples;
}

CalibrationUse CalibrationSet::use() const {
    CalibrationUse u;
    u.source = m_source;
    u.samples = static_cast<int64_t>(m_samples.size());
    if (m_source == "drawn") u.detail["seed"] = m_seed;
    if (m_source == "files") u.detail["folder"] = m_folder;
    return u;
}

std::map<std::string, ValueRange> calibrate(const frontend::Graph& graph,
                                            const std::vector<SampleMap>& samples,
                                            const sim::QuantSpec& quant) {
    std::map<std::string, ValueRange> out;
    for (std::size_t s = 0; s < samples.size(); ++s) {
        const bool first = s == 0;
        for (const auto& [name, t] : samples[s]) merge(out[name], range_of(t, quant), first);
        frontend::execute_graph(
            graph, samples[s],
            [&](const frontend::Node& node, const std::vector<sim::Tensor>& outs, double) {
                for (std::size_t i = 0; i < node.outputs.size() && i < outs.size(); ++i)
                    if (!node.outputs[i].empty() && outs[i].valid())
                        merge(out[node.outputs[i]], range_of(outs[i], quant), first);
            });
    }
    return out;
}

std::map<std::string, ValueRange> calibrate(const frontend::Graph& graph, const CalibrationSet& set,
                                            const sim::QuantSpec& quant, CalibrationUse& use) {
    const auto& samples = set.samples(graph, quant.samples);
    use = set.use();
    return calibrate(graph, samples, quant);
}

float symmetric_scale(float absmax, int bits) {
    const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
    return absmax > 0 ? absmax / qmax : 1.0f;
}

}  // namespace xpusim::lower
