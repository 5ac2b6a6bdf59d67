// `_xpusim`: the driver for Python. The same app::run / write_outcome / make_check_report the
// command line calls, so Python and the CLI give the same numbers bit for bit. The package
// `xpusim` (python/xpusim/) is the API users see; this module stays a thin layer.
#include <pybind11/stl.h>

#include <omp.h>

#include <memory>
#include <mutex>

#include "app/driver/driver.h"
#include "app/driver/report.h"
#include "python/src/bindings.h"
#include "sim/json.h"

namespace xpusim::python {

namespace {

using OutcomePtr = std::shared_ptr<app::RunOutcome>;

// The SystemC kernel is not thread-safe: whatever threads Python runs, one simulation at a time
// per process. Taken with the GIL released, so other Python threads keep running.
std::mutex& simulation_mutex() {
    static std::mutex m;
    return m;
}

// Python classes of the sim::Error hierarchy, created once at import and owned by the module.
struct ErrorClasses {
    PyObject* base = nullptr;
    PyObject* config = nullptr;
    PyObject* model = nullptr;
    PyObject* unsupported = nullptr;
    PyObject* capacity = nullptr;
    PyObject* io = nullptr;
};
ErrorClasses& error_classes() {
    static ErrorClasses classes;
    return classes;
}

PyObject* add_error_class(py::module_& m, const char* name, PyObject* base, const char* doc) {
    PyObject* cls =
        PyErr_NewExceptionWithDoc((std::string("xpusim.") + name).c_str(), doc, base, nullptr);
    if (!cls) throw py::error_already_set();
    m.add_object(name, py::reinterpret_borrow<py::object>(cls));
    return cls;  // the module holds the reference; kept for the translator
}

void register_errors(py::module_& m) {
    ErrorClasses& c = error_classes();
    c.base = add_error_class(m, "XpusimError", PyExc_Exception,
                             "Base of every error xpusim raises on purpose.");
    c.config =
        add_error_class(m, "ConfigError", c.base, "A configuration file or override is wrong.");
    c.model = add_error_class(m, "ModelError", c.base, "A model file or an input is malformed.");
    c.unsupported = add_error_class(m, "UnsupportedError", c.base,
                                    "Valid, but not implemented by xpusim or the target.");
    c.capacity = add_error_class(m, "CapacityError", c.base, "The model does not fit the target.");
    c.io = add_error_class(m, "IoError", c.base, "Reading or writing a file failed.");
    // Most derived first: each C++ class maps to its Python twin with the same message.
    py::register_exception_translator([](std::exception_ptr p) {
        const ErrorClasses& c = error_classes();
        try {
            if (p) std::rethrow_exception(p);
        } catch (const sim::ConfigError& e) {
            PyErr_SetString(c.config, e.what());
        } catch (const sim::ModelError& e) {
            PyErr_SetString(c.model, e.what());
        } catch (const sim::UnsupportedError& e) {
            PyErr_SetString(c.unsupported, e.what());
        } catch (const sim::CapacityError& e) {
            PyErr_SetString(c.capacity, e.what());
        } catch (const sim::IoError& e) {
            PyErr_SetString(c.io, e.what());
        } catch (const sim::Error& e) {
            PyErr_SetString(c.base, e.what());
        }
    });
}

py::dict tensors_to_dict(const app::TensorMap& tensors) {
    py::dict out;
    for (const auto& [name, t] : tensors) out[py::str(name)] = tensor_to_numpy(t);
    return out;
}

app::TensorMap tensors_of(const py::dict& arrays) {
    app::TensorMap out;
    for (const auto& [name, array] : arrays) {
        const auto key = py::str(name).cast<std::string>();
        out[key] = numpy_to_tensor(py::array::ensure(array), key);
    }
    return out;
}

OutcomePtr run(const std::string& model, const std::string& config, const py::dict& inputs,
               const std::vector<std::string>& overrides,
               const std::map<std::string, std::vector<int64_t>>& shapes,
               const std::map<std::string, std::string>& input_files, uint64_t seed,
               bool timing_only, const std::string& calibration_dir,
               const std::vector<py::dict>& calibration_samples, double max_tensor_gib) {
    app::RunRequest request;
    request.model_path = model;
    request.config = config;
    request.overrides = overrides;
    request.input_files = input_files;
    request.input_tensors = tensors_of(inputs);
    request.calibration_dir = calibration_dir;
    if (!(max_tensor_gib > 0) || max_tensor_gib > 1e6)
        throw sim::Error("max_tensor_gib must be a number of GiB in (0, 1e6]");
    request.max_tensor_bytes =
        static_cast<uint64_t>(max_tensor_gib * static_cast<double>(uint64_t{1} << 30));
    for (const auto& sample : calibration_samples)
        request.calibration_samples.push_back(tensors_of(sample));
    for (const auto& [name, shape] : shapes) request.shapes[name] = shape;
    request.seed = seed;
    request.timing_only = timing_only;
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(simulation_mutex());
    return std::make_shared<app::RunOutcome>(app::run(request));
}

}  // namespace

PYBIND11_MODULE(_xpusim, m) {
    m.doc() = "xpusim's C++ driver; use the `xpusim` package instead of this module.";
    register_errors(m);
    app::check_target_registrations();
    bind_config(m);

    py::class_<app::RunOutcome, OutcomePtr>(m, "Outcome", "The result of one run.")
        .def_property_readonly("model_path", [](const app::RunOutcome& o) { return o.model_path; })
        .def_property_readonly("config", [](const app::RunOutcome& o) { return o.config; })
        .def(
            "stats_json", [](const app::RunOutcome& o) { return sim::json_text(o.stats_json()); },
            "the stats.json document as JSON text")
        .def(
            "trace_json",
            [](const app::RunOutcome& o) {
                py::gil_scoped_release release;
                return sim::json_text(o.results.trace.to_json());
            },
            "the trace.json document (Chrome trace events) as JSON text")
        .def("outputs", [](const app::RunOutcome& o) { return tensors_to_dict(o.results.outputs); })
        .def("inputs", [](const app::RunOutcome& o) { return tensors_to_dict(o.inputs); })
        .def("summary", &app::format_run_summary, "the summary `xpusim run` prints")
        .def(
            "write",
            [](const app::RunOutcome& o, const std::string& outdir) {
                py::gil_scoped_release release;
                app::write_outcome(o, outdir);
            },
            py::arg("outdir"), "outputs/, inputs/, stats.json and trace.json, as `xpusim run -o`")
        .def(
            "check_report",
            [](const app::RunOutcome& o, std::optional<double> max_rel_err) {
                const app::CheckReport r = app::make_check_report(o, max_rel_err);
                return py::make_tuple(r.deployable, r.text, sim::json_text(r.json));
            },
            py::arg("max_rel_err") = py::none(),
            "(deployable, text, JSON text) as `xpusim check` (None: the preset's "
            "numerics.max_rel_l2)");

    m.def("run", &run, py::arg("model"), py::arg("config"), py::arg("inputs") = py::dict(),
          py::arg("overrides") = std::vector<std::string>{},
          py::arg("shapes") = std::map<std::string, std::vector<int64_t>>{},
          py::arg("input_files") = std::map<std::string, std::string>{}, py::arg("seed") = 0,
          py::arg("timing_only") = false, py::arg("calibration_dir") = std::string(),
          py::arg("calibration_samples") = std::vector<py::dict>{}, py::arg("max_tensor_gib") = 2.0,
          "Loads, lowers and simulates one model on one config (app::run).");
    m.def(
        "compare_table",
        [](const std::vector<OutcomePtr>& outcomes) {
            std::vector<app::RunOutcome> copies;
            for (const auto& o : outcomes) copies.push_back(*o);
            const auto table = app::format_compare_table(copies);
            return py::make_tuple(table.first, sim::json_text(table.second));
        },
        "(text, JSON text): the table `xpusim compare` prints");
    m.def(
        "set_default_host_threads", [](int n) { omp_set_num_threads(n); }, py::arg("n"),
        "Threads a config's `host.threads: 0` (one per core) means in this process; sweep "
        "workers set 1, since the points are the parallelism.");
    m.def("parse_shape", &app::parse_shape, "\"1x3x224x224\" -> [1, 3, 224, 224]");
    m.def("safe_file_name", &app::safe_file_name);
}

}  // namespace xpusim::python
