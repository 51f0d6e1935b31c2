// Routing table: pattern parsing, matching (literal beats `{param}`), 404 vs 405 with Allow.
#include "http/router.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>
#include <utility>

namespace changefeed::http {

namespace {

/// Splits "/a/b/" into {"a", "b", ""}; "/" into {""}. `path` starts with '/'.
std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    path.remove_prefix(1);
    for (;;) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return out;
}

std::string to_upper(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

}  // namespace

void router::add(std::string method, std::string pattern, handler h) {
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("route pattern must start with '/': " + pattern);
    }
    if (method.empty()) {
        throw std::invalid_argument("route method is empty for " + pattern);
    }
    route r;
    r.method = to_upper(std::move(method));
    std::set<std::string, std::less<>> names;
    for (auto part : split_path(pattern)) {
        segment seg;
        bool opens = part.find('{') != std::string_view::npos;
        bool closes = part.find('}') != std::string_view::npos;
        if (opens || closes) {
            bool well_formed = part.size() > 2 && part.front() == '{' && part.back() == '}' &&
                               part.find_first_of("{}/", 1) == part.size() - 1;
            if (!well_formed) {
                throw std::invalid_argument("malformed placeholder in route pattern: " + pattern);
            }
            seg.is_param = true;
            seg.text = std::string(part.substr(1, part.size() - 2));
            if (!names.insert(seg.text).second) {
                throw std::invalid_argument("placeholder used twice in route pattern: " + pattern);
            }
        } else {
            seg.text = std::string(part);
        }
        r.segments.push_back(std::move(seg));
    }
    for (const auto& other : routes_) {
        bool same_shape = other.method == r.method && other.segments.size() == r.segments.size() &&
                          std::equal(other.segments.begin(), other.segments.end(),
                                     r.segments.begin(), [](const segment& a, const segment& b) {
                                         return a.is_param == b.is_param &&
                                                (a.is_param || a.text == b.text);
                                     });
        if (same_shape) {
            throw std::invalid_argument("route added twice: " + r.method + " " + pattern);
        }
    }
    r.pattern = std::move(pattern);
    r.fn = std::move(h);
    routes_.push_back(std::move(r));
}

bool router::matches(const route& r, const std::vector<std::string_view>& path_segments) {
    if (r.segments.size() != path_segments.size()) {
        return false;
    }
    for (std::size_t i = 0; i < path_segments.size(); ++i) {
        const auto& seg = r.segments[i];
        if (seg.is_param ? path_segments[i].empty() : seg.text != path_segments[i]) {
            return false;
        }
    }
    return true;
}

bool router::more_specific(const route& a, const route& b) {
    for (std::size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
        if (a.segments[i].is_param != b.segments[i].is_param) {
            return !a.segments[i].is_param;
        }
    }
    return false;
}

const router::route* router::best_route(std::string_view method,
                                       const std::vector<std::string_view>& path_segments) const {
    const route* best = nullptr;
    for (const auto& r : routes_) {
        if (r.method == method && matches(r, path_segments) &&
            (best == nullptr || more_specific(r, *best))) {
            best = &r;
        }
    }
    return best;
}

std::string router::route_of(std::string_view method, std::string_view path) const {
    if (path.empty() || path.front() != '/') {
        return {};
    }
    const route* r = best_route(method, split_path(path));
    return r == nullptr ? std::string() : r->pattern;
}

boost::asio::awaitable<response> router::dispatch(request req) const {
    if (req.path.empty() || req.path.front() != '/') {
        co_return error_response(404, "not_found", "no such resource");
    }
    auto path_segments = split_path(req.path);
    const route* best = best_route(req.method, path_segments);
    if (best == nullptr) {
        std::set<std::string, std::less<>> allowed;
        for (const auto& r : routes_) {
            if (matches(r, path_segments)) {
                allowed.insert(r.method);
            }
        }
        if (allowed.empty()) {
            co_return error_response(404, "not_found", "no such resource");
        }
        std::string allow;
        for (const auto& m : allowed) {
            allow += allow.empty() ? m : ", " + m;
        }
        auto res = error_response(405, "method_not_allowed",
                                  "method " + req.method + " is not allowed on this resource");
        res.headers.emplace_back("Allow", std::move(allow));
        for (const auto& r : routes_) {
            if (matches(r, path_segments)) {
                res.route = r.pattern;
                break;
            }
        }
        co_return res;
    }
    req.path_params.clear();
    for (std::size_t i = 0; i < path_segments.size(); ++i) {
        if (best->segments[i].is_param) {
            req.path_params.insert_or_assign(best->segments[i].text, std::string(path_segments[i]));
        }
    }
    // `path_segments` views req.path: drop it before the handler may touch req.
    path_segments.clear();
    auto op = best->fn(req);
    auto res = co_await std::move(op);
    res.route = best->pattern;
    co_return res;
}

}  // namespace changefeed::http
