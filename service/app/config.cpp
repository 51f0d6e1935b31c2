// YAML loading of app_config: ${ENV} expansion, strict keys with suggestions, typed values with
// file:line errors, validation against the source kinds; and the redacted YAML rendering.
#include "app/config.hpp"

#include "core/duration.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "sources/registry.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace changefeed::app {

namespace {

namespace json = boost::json;
using sources::kind_spec;
using sources::knob_spec;
using sources::knob_type;

constexpr std::string_view k_redacted = "***REDACTED***";
constexpr std::int64_t k_int_max = std::numeric_limits<std::int64_t>::max();

// Thrown inside the loader only; load_config_text returns it as a config_error.
struct load_failure {
    std::string message;
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// ` (did you mean "x"?)` when some candidate is close to `word`, else "".
template <typename Range> std::string suggestion(std::string_view word, const Range& candidates) {
    std::string_view best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (std::string_view candidate : candidates) {
        std::size_t d = edit_distance(word, candidate);
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    if (best_distance >= word.size() || best_distance > std::max<std::size_t>(2, best.size() / 3)) {
        return {};
    }
    return fmt::format(" (did you mean \"{}\"?)", best);
}

std::string join_key(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::optional<std::int64_t> parse_int(std::string_view text, bool& out_of_range) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    out_of_range = ec == std::errc::result_out_of_range;
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9');
    });
}

bool valid_source_name(std::string_view name) {
    return !name.empty() && name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

// HOST:PORT as the server binds it: HOST a numeric IPv4 address, a bracketed IPv6 address or
// "localhost" (no DNS at startup); PORT in 0..65535, 0 picking a free port.
bool valid_listen(std::string_view text) {
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':' ||
            !boost::urls::parse_ipv6_address(text.substr(1, close - 1))) {
            return false;
        }
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        std::string_view host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host != "localhost" && !boost::urls::parse_ipv4_address(host)) {
            return false;
        }
    }
    unsigned number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    return !port.empty() && ec == std::errc{} && end == port.data() + port.size() &&
           number <= 65535;
}

std::optional<std::string> base_url_problem(std::string_view text) {
    auto url = boost::urls::parse_uri(text);
    if (!url || (url->scheme_id() != boost::urls::scheme::http &&
                 url->scheme_id() != boost::urls::scheme::https)) {
        return "expected an http:// or https:// URL";
    }
    if (!url->has_authority() || url->encoded_host().empty()) {
        return "the URL has no host";
    }
    if (url->has_userinfo()) {
        return "the URL must not carry credentials (use the kind's secret keys)";
    }
    if (url->has_query() || url->has_fragment()) {
        return "the URL must not have a query or fragment";
    }
    return std::nullopt;
}

std::string redact_database_url(std::string_view text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) {
        return std::string(k_redacted);
    }
    boost::urls::url url(*parsed);
    if (url.has_password()) {
        url.set_password(k_redacted);
    }
    auto params = url.params();
    if (params.contains("password")) {
        params.set("password", k_redacted);
    }
    return std::string(url.buffer());
}

// A string as the loader reads it back: a literal ${ is written $${.
std::string escaped(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.substr(i, 2) == "${") {
            out += '$';
        }
        out += text[i];
    }
    return out;
}

std::vector<std::string_view> source_keys(const kind_spec& spec) {
    std::vector<std::string_view> keys{"name",          "kind",    "base_url",   "enabled",
                                       "poll_interval", "timeout", "rate_limit", "start_from"};
    if (!spec.allowed_resources.empty()) {
        keys.emplace_back("resources");
    }
    for (const auto& knob : spec.knobs) {
        keys.emplace_back(knob.name);
    }
    return keys;
}

std::vector<std::string_view> kind_names() {
    std::vector<std::string_view> names;
    for (const auto& spec : sources::known_kinds()) {
        names.emplace_back(spec.kind);
    }
    return names;
}

// Reads one YAML document into an app_config; throws load_failure at the first problem.
class loader {
  public:
    loader(std::string_view file, const env_lookup& env) : file_(file), env_(env) {}

    app_config read(const YAML::Node& root) {
        app_config config;
        if (!root.IsDefined() || root.IsNull()) {
            fail_at(root.Mark(), "database_url", "required");
        }
        if (!root.IsMap()) {
            fail(root, "", "expected a mapping of settings at the top level");
        }
        check_keys(
            root, "",
            {"listen", "database_url", "log_level", "database_pool_size", "feed", "sources"});

        if (auto n = child(root, "listen")) {
            config.listen = string_value(*n, "listen");
            if (auto problem = listen_problem(config.listen)) {
                fail(*n, "listen", *problem);
            }
        }
        auto database_url = child(root, "database_url");
        if (!database_url) {
            fail(root, "database_url", "required");
        }
        config.database_url = string_value(*database_url, "database_url");
        if (config.database_url.empty()) {
            fail(*database_url, "database_url", "must not be empty");
        }
        if (auto problem = database_url_problem(config.database_url)) {
            fail(*database_url, "database_url", *problem);
        }
        if (auto n = child(root, "log_level")) {
            config.log_level = string_value(*n, "log_level");
            log::level ignored{};
            if (!log::parse_level(config.log_level, ignored)) {
                fail(*n, "log_level", "must be one of debug, info, warn, error");
            }
        }
        if (auto n = child(root, "database_pool_size")) {
            config.database_pool_size =
                static_cast<std::uint32_t>(int_value(*n, "database_pool_size", 1, 100));
        }
        if (auto n = child(root, "feed")) {
            config.feed = read_feed(*n);
        }
        if (auto n = child(root, "sources")) {
            config.sources = read_sources(*n);
        }
        return config;
    }

  private:
    [[noreturn]] void
    fail_at(const YAML::Mark& mark, std::string_view key, std::string_view what) const {
        std::string where =
            mark.line >= 0 ? fmt::format("{}:{}", file_, mark.line + 1) : std::string(file_);
        throw load_failure{key.empty() ? fmt::format("{}: {}", where, what)
                                       : fmt::format("{}: {}: {}", where, key, what)};
    }

    [[noreturn]] void
    fail(const YAML::Node& at, std::string_view key, std::string_view what) const {
        fail_at(at.Mark(), key, what);
    }

    // The value under `key`, or nullopt when absent or null. `map` must be a map.
    static std::optional<YAML::Node> child(const YAML::Node& map, std::string_view key) {
        YAML::Node n = map[std::string(key)];
        if (!n.IsDefined() || n.IsNull()) {
            return std::nullopt;
        }
        return n;
    }

    void check_keys(const YAML::Node& map,
                    std::string_view path,
                    const std::vector<std::string_view>& allowed) const {
        std::set<std::string> seen;
        for (const auto& entry : map) {
            const YAML::Node& key = entry.first;
            if (!key.IsScalar()) {
                fail(key, path, "keys must be plain names");
            }
            const std::string& name = key.Scalar();
            if (!seen.insert(name).second) {
                fail(key, join_key(path, name), "duplicate key");
            }
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
                fail(key, join_key(path, name), "unknown key" + suggestion(name, allowed));
            }
        }
    }

    // The scalar with ${NAME} replaced from the environment and $${ turned into ${.
    std::string expand(const YAML::Node& n, std::string_view key) const {
        const std::string& raw = n.Scalar();
        std::string out;
        std::size_t i = 0;
        while (i < raw.size()) {
            if (raw.compare(i, 3, "$${") == 0) {
                out += "${";
                i += 3;
            } else if (raw.compare(i, 2, "${") == 0) {
                auto close = raw.find('}', i + 2);
                if (close == std::string::npos) {
                    fail(n, key, "unterminated ${ (write $${ for a literal ${)");
                }
                std::string_view name(raw.data() + i + 2, close - i - 2);
                if (!valid_env_name(name)) {
                    fail(n, key, fmt::format("invalid environment variable name \"{}\"", name));
                }
                auto value = env_(name);
                if (!value) {
                    fail(n, key, fmt::format("environment variable {} is not set", name));
                }
                out += *value;
                i = close + 1;
            } else {
                out += raw[i++];
            }
        }
        return out;
    }

    std::string scalar(const YAML::Node& n, std::string_view key, std::string_view expected) const {
        if (!n.IsScalar()) {
            fail(n, key, fmt::format("expected {}", expected));
        }
        return expand(n, key);
    }

    std::string string_value(const YAML::Node& n, std::string_view key) const {
        return scalar(n, key, "a string");
    }

    bool bool_value(const YAML::Node& n, std::string_view key) const {
        std::string text = scalar(n, key, "true or false");
        std::transform(text.begin(), text.end(), text.begin(), [](char c) {
            return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        });
        if (text != "true" && text != "false") {
            fail(n, key, fmt::format("expected true or false, got \"{}\"", n.Scalar()));
        }
        return text == "true";
    }

    std::int64_t
    int_value(const YAML::Node& n, std::string_view key, std::int64_t min, std::int64_t max) const {
        bool out_of_range = false;
        auto value = parse_int(scalar(n, key, "an integer"), out_of_range);
        if (!value && !out_of_range) {
            fail(n, key, fmt::format("expected an integer, got \"{}\"", n.Scalar()));
        }
        if (!value || *value < min || *value > max) {
            fail(n, key,
                 max == k_int_max ? fmt::format("must be at least {}", min)
                                  : fmt::format("must be between {} and {}", min, max));
        }
        return *value;
    }

    std::chrono::milliseconds
    duration_value(const YAML::Node& n, std::string_view key, bool positive) const {
        auto value = time::parse_duration(scalar(n, key, "a duration"));
        if (!value) {
            fail(n, key,
                 fmt::format("invalid duration \"{}\" (write e.g. 500ms, 30s, 5m, 2h, 7d)",
                             n.Scalar()));
        }
        if (positive && value->count() == 0) {
            fail(n, key, "must be greater than 0");
        }
        return *value;
    }

    std::vector<std::string> string_list(const YAML::Node& n, std::string_view key) const {
        if (!n.IsSequence()) {
            fail(n, key, "expected a list, e.g. [a, b]");
        }
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            out.push_back(string_value(n[i], fmt::format("{}[{}]", key, i)));
        }
        return out;
    }

    feed_config read_feed(const YAML::Node& n) const {
        if (!n.IsMap()) {
            fail(n, "feed", "expected a mapping");
        }
        check_keys(n, "feed", {"tokens", "max_limit", "retention"});
        feed_config feed;
        if (auto tokens = child(n, "tokens")) {
            feed.tokens = string_list(*tokens, "feed.tokens");
            for (std::size_t i = 0; i < feed.tokens.size(); ++i) {
                if (feed.tokens[i].empty()) {
                    fail((*tokens)[i], fmt::format("feed.tokens[{}]", i), "must not be empty");
                }
            }
        }
        if (auto max_limit = child(n, "max_limit")) {
            feed.max_limit =
                static_cast<std::uint32_t>(int_value(*max_limit, "feed.max_limit", 1, 100'000));
        }
        if (auto retention = child(n, "retention")) {
            feed.retention = duration_value(*retention, "feed.retention", false);
        }
        return feed;
    }

    std::vector<source_config> read_sources(const YAML::Node& n) const {
        if (!n.IsSequence()) {
            fail(n, "sources", "expected a list of sources");
        }
        std::vector<source_config> out;
        std::map<std::string, std::size_t> index_of_name;
        for (std::size_t i = 0; i < n.size(); ++i) {
            std::string path = fmt::format("sources[{}]", i);
            out.push_back(read_source(n[i], path));
            auto [it, inserted] = index_of_name.emplace(out.back().name, i);
            if (!inserted) {
                fail(n[i]["name"], path + ".name",
                     fmt::format("duplicate source name \"{}\" (also sources[{}])", it->first,
                                 it->second));
            }
        }
        return out;
    }

    source_config read_source(const YAML::Node& n, const std::string& path) const {
        if (!n.IsMap()) {
            fail(n, path, "expected a mapping");
        }
        source_config source;

        auto kind = child(n, "kind");
        if (!kind) {
            fail(n, path + ".kind",
                 fmt::format("required (one of {})", fmt::join(kind_names(), ", ")));
        }
        source.kind = string_value(*kind, path + ".kind");
        const kind_spec* spec = sources::find_kind(source.kind);
        if (spec == nullptr) {
            fail(*kind, path + ".kind",
                 fmt::format("unknown kind \"{}\"{}; known kinds: {}", kind->Scalar(),
                             suggestion(source.kind, kind_names()), fmt::join(kind_names(), ", ")));
        }
        if (spec->allowed_resources.empty() && n["resources"].IsDefined()) {
            fail(n["resources"], path + ".resources",
                 fmt::format("kind {} takes no resources", spec->kind));
        }
        check_keys(n, path, source_keys(*spec));

        auto name = child(n, "name");
        if (!name) {
            fail(n, path + ".name", "required");
        }
        source.name = string_value(*name, path + ".name");
        if (!valid_source_name(source.name)) {
            fail(*name, path + ".name", "must match [a-z0-9_-]{1,40}");
        }

        auto base_url = child(n, "base_url");
        if (!base_url) {
            fail(n, path + ".base_url", "required");
        }
        source.base_url = string_value(*base_url, path + ".base_url");
        if (auto problem = base_url_problem(source.base_url)) {
            fail(*base_url, path + ".base_url", *problem);
        }
        while (source.base_url.ends_with('/')) {
            source.base_url.pop_back();
        }

        if (auto v = child(n, "enabled")) {
            source.enabled = bool_value(*v, path + ".enabled");
        }
        source.poll_interval = spec->default_poll_interval;
        if (auto v = child(n, "poll_interval")) {
            source.poll_interval = duration_value(*v, path + ".poll_interval", true);
        }
        if (auto v = child(n, "timeout")) {
            source.timeout = duration_value(*v, path + ".timeout", true);
        }
        source.rate_limit = spec->default_rate_limit;
        if (auto v = child(n, "rate_limit")) {
            source.rate_limit = read_rate_limit(*v, path + ".rate_limit");
        }
        if (auto v = child(n, "start_from")) {
            source.start_from = string_value(*v, path + ".start_from");
            if (*source.start_from != "now" && !time::parse_rfc3339(*source.start_from)) {
                fail(*v, path + ".start_from",
                     "expected \"now\" or an RFC 3339 time with a zone (2024-05-01T00:00:00Z)");
            }
        }
        source.resources = spec->default_resources;
        if (auto v = child(n, "resources")) {
            source.resources = read_resources(*v, path + ".resources", *spec);
        }

        for (const auto& knob : spec->knobs) {
            source.options[knob.name] = read_knob(n, path, *spec, knob);
        }
        if (spec->check) {
            if (auto problem = spec->check(source.options)) {
                fail(n, path, *problem);
            }
        }
        return source;
    }

    std::vector<sources::rate_window> read_rate_limit(const YAML::Node& n,
                                                      const std::string& path) const {
        if (!n.IsSequence()) {
            fail(n, path, "expected a list of {limit, window}");
        }
        std::vector<sources::rate_window> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const YAML::Node& item = n[i];
            std::string item_path = fmt::format("{}[{}]", path, i);
            if (!item.IsMap()) {
                fail(item, item_path, "expected {limit: N, window: DURATION}");
            }
            check_keys(item, item_path, {"limit", "window"});
            auto limit = child(item, "limit");
            auto window = child(item, "window");
            if (!limit || !window) {
                fail(item, item_path + (limit ? ".window" : ".limit"), "required");
            }
            out.push_back({
                static_cast<std::uint32_t>(int_value(*limit, item_path + ".limit", 1,
                                                     std::numeric_limits<std::uint32_t>::max())),
                duration_value(*window, item_path + ".window", true),
            });
        }
        return out;
    }

    std::vector<std::string>
    read_resources(const YAML::Node& n, const std::string& path, const kind_spec& spec) const {
        auto resources = string_list(n, path);
        if (resources.empty()) {
            fail(n, path, "must list at least one resource (or disable the source)");
        }
        for (std::size_t i = 0; i < resources.size(); ++i) {
            const auto& r = resources[i];
            std::string item_path = fmt::format("{}[{}]", path, i);
            if (std::find(spec.allowed_resources.begin(), spec.allowed_resources.end(), r) ==
                spec.allowed_resources.end()) {
                fail(n[i], item_path,
                     fmt::format("unknown resource \"{}\" for kind {}{}; allowed: {}",
                                 n[i].Scalar(), spec.kind, suggestion(r, spec.allowed_resources),
                                 fmt::join(spec.allowed_resources, ", ")));
            }
            if (std::find(resources.begin(), resources.begin() + static_cast<std::ptrdiff_t>(i),
                          r) != resources.begin() + static_cast<std::ptrdiff_t>(i)) {
                fail(n[i], item_path, fmt::format("resource \"{}\" is listed twice", r));
            }
        }
        return resources;
    }

    json::value read_knob(const YAML::Node& source,
                          const std::string& path,
                          const kind_spec& spec,
                          const knob_spec& knob) const {
        std::string key = join_key(path, knob.name);
        auto n = child(source, knob.name);
        if (!n) {
            if (knob.required) {
                fail(source, key, fmt::format("required for kind {}", spec.kind));
            }
            return knob.default_value;
        }
        json::value value;
        switch (knob.type) {
        case knob_type::string:
        case knob_type::secret:
            value = string_value(*n, key);
            if (knob.required && value.get_string().empty()) {
                fail(*n, key, "must not be empty");
            }
            if (auto size = value.get_string().size(); size > 0 && size < knob.min_length) {
                fail(*n, key,
                     fmt::format("must be at least {} characters long{}", knob.min_length,
                                 knob.type == knob_type::secret ? ", so that it cannot be guessed" : ""));
            }
            break;
        case knob_type::boolean:
            value = bool_value(*n, key);
            break;
        case knob_type::integer:
            value = int_value(*n, key, knob.min_int, knob.max_int);
            break;
        case knob_type::duration:
            value = duration_value(*n, key, false).count();
            break;
        case knob_type::string_list: {
            json::array items;
            for (auto& item : string_list(*n, key)) {
                items.emplace_back(item);
            }
            value = std::move(items);
            break;
        }
        }
        if (!knob.allowed_values.empty() &&
            std::find(knob.allowed_values.begin(), knob.allowed_values.end(), value) ==
                knob.allowed_values.end()) {
            std::vector<std::string> allowed;
            for (const auto& v : knob.allowed_values) {
                allowed.push_back(v.is_string() ? std::string(v.get_string()) : json::serialize(v));
            }
            fail(*n, key, fmt::format("must be one of {}", fmt::join(allowed, ", ")));
        }
        return value;
    }

    std::string_view file_;
    const env_lookup& env_;
};

const json::value& option(const source_config& source, std::string_view key, json::kind expected) {
    const json::value* v = source.options.if_contains(key);
    if (v == nullptr) {
        throw std::logic_error(
            fmt::format("source {}: kind {} has no knob {}", source.name, source.kind, key));
    }
    if (!v->is_null() && v->kind() != expected) {
        throw std::logic_error(
            fmt::format("source {}: knob {} has another type", source.name, key));
    }
    return *v;
}

void emit_knob(YAML::Emitter& out, const knob_spec* knob, const json::value& value) {
    if (value.is_null()) {
        out << YAML::Null;
        return;
    }
    // A knob that no spec declares is shown redacted: it may be a secret.
    if (knob == nullptr || knob->type == knob_type::secret) {
        out << std::string(k_redacted);
        return;
    }
    switch (knob->type) {
    case knob_type::string:
    case knob_type::secret:
        out << escaped(value.get_string());
        break;
    case knob_type::boolean:
        out << value.get_bool();
        break;
    case knob_type::integer:
        out << value.get_int64();
        break;
    case knob_type::duration:
        out << time::format_duration(std::chrono::milliseconds{value.get_int64()});
        break;
    case knob_type::string_list:
        out << YAML::Flow << YAML::BeginSeq;
        for (const auto& item : value.get_array()) {
            out << escaped(item.get_string());
        }
        out << YAML::EndSeq;
        break;
    }
}

void emit_source(YAML::Emitter& out, const source_config& source) {
    const kind_spec* spec = sources::find_kind(source.kind);
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << escaped(source.name);
    out << YAML::Key << "kind" << YAML::Value << escaped(source.kind);
    out << YAML::Key << "base_url" << YAML::Value << escaped(source.base_url);
    out << YAML::Key << "enabled" << YAML::Value << source.enabled;
    out << YAML::Key << "poll_interval" << YAML::Value
        << time::format_duration(source.poll_interval);
    out << YAML::Key << "timeout" << YAML::Value << time::format_duration(source.timeout);
    out << YAML::Key << "rate_limit" << YAML::Value;
    if (source.rate_limit.empty()) {
        out << YAML::Flow;
    }
    out << YAML::BeginSeq;
    for (const auto& w : source.rate_limit) {
        out << YAML::Flow << YAML::BeginMap << YAML::Key << "limit" << YAML::Value << w.limit
            << YAML::Key << "window" << YAML::Value << time::format_duration(w.window)
            << YAML::EndMap;
    }
    out << YAML::EndSeq;
    if (source.start_from) {
        out << YAML::Key << "start_from" << YAML::Value << escaped(*source.start_from);
    }
    if (spec == nullptr || !spec->allowed_resources.empty()) {
        out << YAML::Key << "resources" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& r : source.resources) {
            out << escaped(r);
        }
        out << YAML::EndSeq;
    }
    for (const auto& [key, value] : source.options) {
        const knob_spec* knob = nullptr;
        if (spec != nullptr) {
            const auto& name = key;  // clang 14 cannot capture a structured binding
            auto it = std::find_if(spec->knobs.begin(), spec->knobs.end(),
                                   [&name](const knob_spec& k) { return k.name == name; });
            knob = it != spec->knobs.end() ? &*it : nullptr;
        }
        out << YAML::Key << std::string(key) << YAML::Value;
        emit_knob(out, knob, value);
    }
    out << YAML::EndMap;
}

}  // namespace

std::optional<std::string> listen_problem(std::string_view text) {
    if (valid_listen(text)) {
        return std::nullopt;
    }
    return "expected IP:PORT with a numeric address (or localhost) and a port in 0..65535 "
           "(0.0.0.0:8080, [::]:8080)";
}

std::optional<std::string> database_url_problem(std::string_view text) {
    auto url = boost::urls::parse_uri(text);
    if (url && (url->scheme() == "postgresql" || url->scheme() == "postgres")) {
        return std::nullopt;
    }
    return "expected a libpq URI (postgresql://user:password@host:5432/dbname)";
}

std::string source_config::option_string(std::string_view key) const {
    const auto& v = option(*this, key, json::kind::string);
    return v.is_null() ? std::string() : std::string(v.get_string());
}

bool source_config::option_bool(std::string_view key) const {
    const auto& v = option(*this, key, json::kind::bool_);
    return !v.is_null() && v.get_bool();
}

std::int64_t source_config::option_int(std::string_view key) const {
    const auto& v = option(*this, key, json::kind::int64);
    return v.is_null() ? 0 : v.get_int64();
}

std::chrono::milliseconds source_config::option_duration(std::string_view key) const {
    return std::chrono::milliseconds{option_int(key)};
}

std::vector<std::string> source_config::option_string_list(std::string_view key) const {
    const auto& v = option(*this, key, json::kind::array);
    std::vector<std::string> out;
    if (v.is_array()) {
        for (const auto& item : v.get_array()) {
            out.emplace_back(item.as_string());
        }
    }
    return out;
}

std::optional<std::string> process_env(std::string_view name) {
    const char* value = std::getenv(std::string(name).c_str());
    return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

std::variant<app_config, config_error> load_config_file(const std::string& path,
                                                        const env_lookup& env) {
    // A directory opens and reads as empty: it would pass for a file without a single key.
    if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
        return config_error{
            fmt::format("{}: cannot read: {}", path, std::generic_category().message(EISDIR))};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return config_error{
            fmt::format("{}: cannot read: {}", path, std::generic_category().message(errno))};
    }
    std::ostringstream text;
    text << in.rdbuf();
    return load_config_text(text.str(), path, env);
}

std::variant<app_config, config_error>
load_config_text(std::string_view yaml, std::string_view file_name, const env_lookup& env) {
    try {
        YAML::Node root = YAML::Load(std::string(yaml));
        return loader(file_name, env).read(root);
    } catch (const load_failure& failure) {
        return config_error{failure.message};
    } catch (const YAML::Exception& e) {
        std::string where = e.mark.line >= 0 ? fmt::format("{}:{}", file_name, e.mark.line + 1)
                                             : std::string(file_name);
        return config_error{fmt::format("{}: invalid YAML: {}", where, e.msg)};
    }
}

std::string render_redacted(const app_config& config) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "listen" << YAML::Value << escaped(config.listen);
    out << YAML::Key << "database_url" << YAML::Value
        << escaped(redact_database_url(config.database_url));
    out << YAML::Key << "log_level" << YAML::Value << escaped(config.log_level);
    out << YAML::Key << "database_pool_size" << YAML::Value << config.database_pool_size;
    out << YAML::Key << "feed" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "tokens" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (std::size_t i = 0; i < config.feed.tokens.size(); ++i) {
        out << std::string(k_redacted);
    }
    out << YAML::EndSeq;
    out << YAML::Key << "max_limit" << YAML::Value << config.feed.max_limit;
    out << YAML::Key << "retention" << YAML::Value << time::format_duration(config.feed.retention);
    out << YAML::EndMap;
    out << YAML::Key << "sources" << YAML::Value;
    if (config.sources.empty()) {
        out << YAML::Flow;
    }
    out << YAML::BeginSeq;
    for (const auto& source : config.sources) {
        emit_source(out, source);
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace changefeed::app
