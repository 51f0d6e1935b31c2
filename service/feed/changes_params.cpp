#include "feed/changes_params.hpp"

#include "core/change_event.hpp"

#include <algorithm>
#include <charconv>

namespace changefeed::feed {

namespace {

const std::string* find(const std::vector<std::pair<std::string, std::string>>& query,
                        std::string_view name) {
    for (const auto& [k, v] : query) {
        if (k == name) {
            return &v;
        }
    }
    return nullptr;
}

bool parse_non_negative(std::string_view text, std::uint64_t& out) {
    while (text.size() > 1 && text.front() == '0') {
        text.remove_prefix(1);
    }
    if (text.empty() || text.size() > 19) {
        return false;
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

// Names the first of the single-valued parameters that is given more than once.
std::optional<param_error> repeated_single(
    const std::vector<std::pair<std::string, std::string>>& query) {
    for (std::string_view name : {"since", "limit", "wait", "consumer"}) {
        auto given = std::count_if(query.begin(), query.end(),
                                   [name](const auto& kv) { return kv.first == name; });
        if (given > 1) {
            return param_error{std::string(name),
                               "parameter '" + std::string(name) + "' is given more than once"};
        }
    }
    return std::nullopt;
}

bool valid_name(std::string_view v) {
    if (v.empty() || v.size() > 100) {
        return false;
    }
    for (char c : v) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// Adds the comma-separated items of one value of `name` to `out`.
std::optional<param_error> parse_list_value(std::string_view rest, std::string_view name,
                                            std::vector<std::string>& out) {
    while (true) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        if (!valid_name(item)) {
            return param_error{std::string(name),
                               "parameter '" + std::string(name) +
                                   "' must be a comma-separated list of names ([A-Za-z0-9_.-])"};
        }
        if (name == "operation" && !core::is_operation(item)) {
            return param_error{"operation", "parameter 'operation' accepts insert, update, delete"};
        }
        out.emplace_back(item);
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
    return std::nullopt;
}

// Every occurrence of `name` adds its items to `out` (source=a&source=b is source=a,b).
std::optional<param_error> parse_list(const std::vector<std::pair<std::string, std::string>>& query,
                                      std::string_view name, std::vector<std::string>& out) {
    for (const auto& [key, raw] : query) {
        if (key != name) {
            continue;
        }
        if (auto e = parse_list_value(raw, name, out)) {
            return e;
        }
    }
    return std::nullopt;
}

}  // namespace

bool valid_consumer_name(std::string_view name) {
    if (name.empty() || name.size() > 40) {
        return false;
    }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::variant<std::optional<std::int64_t>, param_error> parse_last_event_id(std::string_view value) {
    if (value.empty()) {
        return std::optional<std::int64_t>();
    }
    std::uint64_t n = 0;
    if (!parse_non_negative(value, n) || n > static_cast<std::uint64_t>(INT64_MAX)) {
        return param_error{"Last-Event-ID", "header 'Last-Event-ID' must be a non-negative integer"};
    }
    return std::optional<std::int64_t>(static_cast<std::int64_t>(n));
}

std::variant<changes_params, param_error> parse_changes_params(
    const std::vector<std::pair<std::string, std::string>>& query, std::uint32_t max_limit) {
    if (auto e = repeated_single(query)) {
        return *e;
    }
    changes_params p;
    std::uint64_t n = 0;
    if (const auto* consumer = find(query, "consumer")) {
        if (!valid_consumer_name(*consumer)) {
            return param_error{"consumer", "parameter 'consumer' must be a name of 1 to 40 "
                                           "characters from [a-z0-9_-]"};
        }
        if (find(query, "since") != nullptr) {
            return param_error{"consumer",
                               "parameters 'consumer' and 'since' cannot be used together"};
        }
        p.consumer = *consumer;
    }
    // With a consumer, `since` stays unset: the handler reads the stored offset.
    if (const auto* since = p.consumer ? nullptr : find(query, "since")) {
        if (*since == "now") {
            p.since_now = true;
        } else if (!parse_non_negative(*since, n) ||
                   n > static_cast<std::uint64_t>(INT64_MAX)) {
            return param_error{"since",
                               "parameter 'since' must be a non-negative integer or 'now'"};
        } else {
            p.since = static_cast<std::int64_t>(n);
        }
    } else if (!p.consumer) {
        p.since = 0;
    }
    if (const auto* limit = find(query, "limit")) {
        if (!parse_non_negative(*limit, n) || n < 1 || n > max_limit) {
            return param_error{"limit", "parameter 'limit' must be an integer from 1 to " +
                                            std::to_string(max_limit)};
        }
        p.limit = static_cast<std::uint32_t>(n);
    } else {
        p.limit = std::min<std::uint32_t>(100, max_limit);
    }
    if (const auto* wait = find(query, "wait")) {
        if (!parse_non_negative(*wait, n) || n > 60) {
            return param_error{"wait", "parameter 'wait' must be an integer from 0 to 60 (seconds)"};
        }
        p.wait_seconds = static_cast<std::uint32_t>(n);
    }
    if (auto e = parse_list(query, "source", p.filter.sources)) {
        return *e;
    }
    if (auto e = parse_list(query, "resource", p.filter.resources)) {
        return *e;
    }
    if (auto e = parse_list(query, "operation", p.filter.operations)) {
        return *e;
    }
    return p;
}

}  // namespace changefeed::feed
