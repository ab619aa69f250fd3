// The results of a run: rows of "figure, its reference (a ceiling or a peer of the same run), the
// ratio, the target and whether it is met", printed as an aligned table for people and as JSON
// for scripts.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pvb::bench {

struct Row {
  Row(std::string section_, std::string what_, std::string backend_, std::optional<double> value_,
      std::string unit_, std::string note_ = "")
      : section(std::move(section_)),
        what(std::move(what_)),
        backend(std::move(backend_)),
        value(value_),
        unit(std::move(unit_)),
        note(std::move(note_)) {}
  // The reference this figure is compared with, and the ratio (value / reference unless the
  // target defines it otherwise).
  Row& against(double ref, std::string name, double r) {
    reference = ref;
    reference_name = std::move(name);
    ratio = r;
    return *this;
  }
  Row& aim(std::string t, bool is_met) {
    target = std::move(t);
    met = is_met;
    return *this;
  }

  std::string section;          // "guest -> viewer", "latency", ...
  std::string what;             // "pvebridge MB/s"
  std::string backend;          // "openssl", "mbedtls", or "" when it does not apply
  std::optional<double> value;  // nullopt: skipped (see note)
  std::string unit;             // "MB/s", "s/GiB", "us", "KiB", "copies/B", "s"
  std::optional<double> reference;
  std::string reference_name;   // "bare TLS", "best peer", ...
  std::optional<double> ratio;  // value / reference (or as the target defines it)
  std::string target;           // ">= 85% of bare TLS"
  std::optional<bool> met;
  std::string note;
};

class Report {
 public:
  void add(Row row) { rows_.push_back(std::move(row)); }
  const std::vector<Row>& rows() const { return rows_; }

  void print_table(std::FILE* out, const std::string& title) const;
  // {"cpu":..,"mode":..,"settings":{..},"rows":[{..}, ...]} ; settings is raw JSON.
  std::string json(const std::string& cpu, const std::string& mode,
                   const std::string& settings_json) const;

 private:
  std::vector<Row> rows_;
};

// "AMD EPYC 7B13" from /proc/cpuinfo (model name), and the number of CPUs.
std::string cpu_model();

}  // namespace pvb::bench
