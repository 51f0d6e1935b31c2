// What a source kind declares about its configuration: its vendor knobs with their types and
// defaults, its resources, and its default rate limit and poll interval. The config loader
// validates a source against this without knowing any vendor.
#pragma once

#include "http/message.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace changefeed::sim {
struct demo_source;
}

namespace changefeed::sources {

class source;
struct source_context;
struct webhook_context;

/// At most `limit` requests in any span of `window`.
struct rate_window {
    std::uint32_t limit = 0;
    std::chrono::milliseconds window{0};

    friend bool operator==(const rate_window&, const rate_window&) = default;
};

/// How a knob is written in YAML and stored in source_config::options: string and secret as
/// JSON strings, boolean as bool, integer as int64, duration as int64 milliseconds,
/// string_list as an array of strings. Secrets are redacted wherever configuration is shown.
enum class knob_type { string, secret, boolean, integer, duration, string_list };

// Every member of knob_spec and kind_spec has an initializer, so the vendor specs' designated
// initializers may leave members out without g++ 12's -Wmissing-field-initializers.
struct knob_spec {
    std::string name{};
    knob_type type = knob_type::string;
    boost::json::value default_value{};  // null: no default
    bool required = false;               // strings and secrets must then also be non-empty
    std::size_t min_length = 0;          // strings and secrets, when not empty
    std::string help{};
    std::vector<boost::json::value> allowed_values{};  // empty: any value of the type
    std::int64_t min_int = 1;                          // integers only
    std::int64_t max_int = std::numeric_limits<std::int64_t>::max();
};

/// The default_value of a duration knob.
inline boost::json::value duration_default(std::chrono::milliseconds d) { return d.count(); }

/// Cross-knob check run after every knob has been read and defaulted (every declared knob is
/// then present in `options`, null when unset). Returns an error message, or nullopt when valid.
using options_check = std::function<std::optional<std::string>(const boost::json::object& options)>;

struct kind_spec {
    std::string kind{};  // "pennylane"
    std::vector<knob_spec> knobs{};
    std::vector<rate_window> default_rate_limit{};
    std::chrono::milliseconds default_poll_interval{0};
    std::vector<std::string> allowed_resources{};  // empty: the kind takes no `resources` key
    std::vector<std::string> default_resources{};
    options_check check{};  // may be empty
    /// Makes the adapter that polls a source of this kind; empty: the kind cannot poll yet.
    std::function<std::unique_ptr<source>(source_context& ctx)> create{};
    /// A simulator of the vendor and a source polling it, for `changefeed demo`; may be empty.
    std::function<sim::demo_source()> demo{};
    /// Makes the handler of `POST /webhooks/<source>` for a source of this kind; empty: the kind
    /// takes no webhooks (the route answers 404).
    std::function<http::handler(webhook_context& ctx)> webhook{};
};

}  // namespace changefeed::sources
