// `changefeed healthcheck`: one short HTTP GET of the running service, for container health
// checks (the runtime image has no curl).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace changefeed::app {

inline constexpr std::string_view k_default_healthcheck_url = "http://127.0.0.1:8080/healthz";

struct health_report {
    enum class verdict { healthy, unhealthy, bad_url };
    verdict result = verdict::unhealthy;
    /// One line saying what happened; names the URL without its query string.
    std::string message;
};

/// GETs `url` once; the whole exchange (connect, send, read) must finish within `deadline`.
/// `url` is `http://HOST[:PORT][/PATH][?QUERY]` where HOST is a numeric IPv4 address, a
/// bracketed IPv6 address or `localhost` (127.0.0.1): no DNS lookup, which could block past
/// the deadline. PORT defaults to 80. Healthy means the answer is 200; any other status, a
/// refused connection, a malformed answer or the deadline is unhealthy. Never throws.
health_report check_health(std::string_view url,
                           std::chrono::milliseconds deadline = std::chrono::seconds{3});

}  // namespace changefeed::app
