// Configs for Python: load (file, preset or YAML text, with overrides), show, describe, list.
#include <pybind11/stl.h>

#include "app/driver/driver.h"
#include "python/src/bindings.h"

namespace xpusim::python {

namespace {

namespace cfg = sim::config;

py::object value_to_python(const cfg::Config::Value& v) {
    return std::visit([](const auto& data) -> py::object { return py::cast(data); }, v.data);
}

py::dict values_of(const cfg::Config& c) {
    py::dict out;
    for (const auto& [path, text] : c.flat()) out[py::str(path)] = value_to_python(c.value(path));
    return out;
}

py::list params_of(const cfg::Config& c) {
    py::list out;
    for (const cfg::ParamSpec& p : c.schema().params()) {
        py::dict row;
        row["path"] = p.path;
        row["type"] = cfg::param_type_name(p.type);
        row["unit"] = p.unit;
        row["description"] = p.description;
        row["default"] = p.default_value ? py::cast(*p.default_value) : py::none();
        row["min"] = p.min ? py::cast(*p.min) : py::none();
        row["max"] = p.max ? py::cast(*p.max) : py::none();
        row["choices"] = p.choices;
        out.append(row);
    }
    return out;
}

}  // namespace

void bind_config(py::module_& m) {
    py::class_<cfg::Config>(m, "Config", "A loaded, merged and validated configuration.")
        .def_property_readonly("target", &cfg::Config::target)
        .def_property_readonly("name", &cfg::Config::name)
        .def_property_readonly("source", &cfg::Config::source)
        .def("flat", &cfg::Config::flat, "path -> value as text, as `config show` prints it")
        .def("values", &values_of, "path -> value as a Python int, float, bool, str or list")
        .def("to_yaml", &cfg::Config::to_yaml, "the fully resolved tree as YAML")
        .def("params", &params_of, "the target's schema: one dict per parameter")
        .def("origin",
             [](const cfg::Config& c, const std::string& path) { return c.origin(path).str(); });

    m.def(
        "load_config",
        [](const std::string& file_or_preset, const std::vector<std::string>& overrides) {
            return app::config_loader().load(file_or_preset, overrides);
        },
        py::arg("file_or_preset"), py::arg("overrides") = std::vector<std::string>{});
    m.def(
        "load_config_string",
        [](const std::string& yaml, const std::string& origin,
           const std::vector<std::string>& overrides) {
            return app::config_loader().load_string(yaml, origin, overrides);
        },
        py::arg("yaml"), py::arg("origin") = "<string>",
        py::arg("overrides") = std::vector<std::string>{});
    m.def("list_presets", [] {
        py::list out;
        for (const auto& p : app::config_loader().list_presets()) {
            py::dict row;
            row["name"] = p.name;
            row["target"] = p.target;
            row["path"] = p.path;
            row["description"] = p.description;
            out.append(row);
        }
        return out;
    });
    m.def("describe",
          [](const std::string& target) { return app::config_loader().describe(target); });
    m.def("config_search_dirs", [] { return app::config_loader().search_dirs(); });
}

}  // namespace xpusim::python
