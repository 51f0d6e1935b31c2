// The service configuration (SPEC section 3): the aggregates, the YAML loader with ${ENV}
// expansion and validation, and the redacted rendering that `check-config` prints.
#pragma once

#include "sources/kind_spec.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace changefeed::app {

struct feed_config {
    std::vector<std::string> tokens;  // empty: no auth
    std::uint32_t max_limit = 1000;
    std::chrono::milliseconds retention = std::chrono::days{30};  // 0: keep everything
};

struct source_config {
    std::string name;
    std::string kind;
    std::string base_url;  // http(s)://host[:port][/prefix], without a trailing '/'
    bool enabled = true;
    std::chrono::milliseconds poll_interval{0};
    std::chrono::milliseconds timeout = std::chrono::seconds{30};
    std::vector<sources::rate_window> rate_limit;  // empty: no client-side limit
    std::optional<std::string> start_from;         // RFC 3339 or "now"; unset: all history
    std::vector<std::string> resources;
    /// Every knob the kind declares, defaults filled in; null when neither given nor defaulted.
    /// Strings and secrets are strings, booleans bools, integers int64, durations int64
    /// milliseconds, string lists arrays of strings.
    boost::json::object options;

    // Typed knob access. A null knob reads as "", false, 0 or an empty list. Throws
    // std::logic_error when `key` is not a knob of this kind or has another type (a bug).
    std::string option_string(std::string_view key) const;
    bool option_bool(std::string_view key) const;
    std::int64_t option_int(std::string_view key) const;
    std::chrono::milliseconds option_duration(std::string_view key) const;
    std::vector<std::string> option_string_list(std::string_view key) const;
};

struct app_config {
    std::string listen = "0.0.0.0:8080";
    std::string database_url;
    std::string log_level = "info";
    std::uint32_t database_pool_size = 4;
    feed_config feed;
    std::vector<source_config> sources;
};

/// What is wrong, already prefixed with file, line (when known) and key, e.g.
/// `config.yaml:12: sources[0].poll_intervl: unknown key (did you mean "poll_interval"?)`.
/// Never contains the value of an environment variable or a secret.
struct config_error {
    std::string message;
};

using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (getenv).
std::optional<std::string> process_env(std::string_view name);

/// Reads, expands and validates a configuration file. Never throws for bad input; every problem
/// (unreadable file, YAML syntax, unknown key, wrong type, unset variable...) is a config_error.
std::variant<app_config, config_error> load_config_file(const std::string& path,
                                                        const env_lookup& env = process_env);

/// Like load_config_file for text already in memory; `file_name` only labels errors.
std::variant<app_config, config_error> load_config_text(std::string_view yaml,
                                                        std::string_view file_name,
                                                        const env_lookup& env = process_env);

/// What is wrong with a `listen` value, if anything. Valid: HOST:PORT as the server binds it,
/// HOST a numeric IPv4 address, a bracketed IPv6 address or "localhost" (no DNS at startup), PORT
/// in 0..65535 (0 picks a free port).
std::optional<std::string> listen_problem(std::string_view text);

/// What is wrong with a `database_url` value, if anything (a libpq URI is expected). The message
/// never contains the value: it may hold a password.
std::optional<std::string> database_url_problem(std::string_view text);

/// The effective configuration as YAML (defaults filled in), loadable again, with every secret
/// replaced by "***REDACTED***": feed tokens, the database_url password and secret knobs.
std::string render_redacted(const app_config& config);

}  // namespace changefeed::app
