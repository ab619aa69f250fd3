#include "bench/bridge_throughput/report.h"

#include <unistd.h>

#include <cmath>
#include <fstream>

#include "engine/core/json_writer.h"

namespace pvb::bench {

namespace {

std::string number(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (a >= 100) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else if (a >= 1) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  return buf;
}

std::string pad(std::string s, size_t width) {
  // Display width: count UTF-8 code points (the table uses arrows and the "≤" sign).
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  if (w < width) s.append(width - w, ' ');
  return s;
}

}  // namespace

std::string cpu_model() {
  // "model name" alone is vague in VMs ("AMD EPYC"): family, model and clock say which one.
  std::ifstream in("/proc/cpuinfo");
  std::string line, name = "unknown CPU", family, model, mhz;
  auto value = [](const std::string& l) {
    auto colon = l.find(':');
    std::string v = colon == std::string::npos ? "" : l.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  };
  while (std::getline(in, line) && line.find_first_not_of(" \t") != std::string::npos) {
    if (line.rfind("model name", 0) == 0) name = value(line);
    if (line.rfind("cpu family", 0) == 0) family = value(line);
    if (line.rfind("model\t", 0) == 0) model = value(line);
    if (line.rfind("cpu MHz", 0) == 0) mhz = value(line);
  }
  std::string out = name;
  if (!family.empty()) out += ", family " + family + " model " + model;
  if (!mhz.empty()) out += ", " + mhz.substr(0, mhz.find('.')) + " MHz";
  return out + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs";
}

void Report::print_table(std::FILE* out, const std::string& title) const {
  std::fprintf(out, "%s\n", title.c_str());
  std::string section;
  const std::string header = pad("figure", 50) + pad("backend", 9) + pad("value", 18) +
                             pad("reference", 28) + pad("ratio", 8) + pad("target", 26) + "met";
  for (const Row& r : rows_) {
    if (r.section != section) {
      section = r.section;
      std::fprintf(out, "\n== %s\n%s\n", section.c_str(), header.c_str());
    }
    std::string value = r.value ? number(*r.value) + " " + r.unit : "skipped";
    std::string ref = r.reference ? r.reference_name + " " + number(*r.reference) : "";
    std::string ratio = r.ratio ? number(*r.ratio) : "";
    std::string met = r.met ? (*r.met ? "yes" : "NO") : "";
    std::string line = pad(r.what, 50) + pad(r.backend, 9) + pad(value, 18) + pad(ref, 28) +
                       pad(ratio, 8) + pad(r.target, 26) + met;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
    if (!r.note.empty()) std::fprintf(out, "    (%s)\n", r.note.c_str());
  }
  std::fflush(out);
}

std::string Report::json(const std::string& cpu, const std::string& mode,
                         const std::string& settings_json) const {
  JsonWriter w;
  w.begin_object().key("cpu").value(cpu).key("mode").value(mode);
  w.key("settings").raw(settings_json);
  w.key("rows").begin_array();
  for (const Row& r : rows_) {
    w.begin_object();
    w.key("section").value(r.section).key("what").value(r.what).key("backend").value(r.backend);
    w.key("value");
    r.value ? w.value(*r.value) : w.null();
    w.key("unit").value(r.unit);
    if (r.reference) w.key("reference").value(*r.reference);
    if (!r.reference_name.empty()) w.key("reference_name").value(r.reference_name);
    if (r.ratio) w.key("ratio").value(*r.ratio);
    if (!r.target.empty()) w.key("target").value(r.target);
    if (r.met) w.key("met").value(*r.met);
    if (!r.note.empty()) w.key("note").value(r.note);
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace pvb::bench
