#include "ui/status_page.hpp"

#include <algorithm>
#include <string>

namespace changefeed::ui {

namespace {

constexpr std::string_view k_index = "index.html";

// The page runs only its own files: no inline script, nothing from elsewhere, API calls to this
// origin only.
constexpr std::string_view k_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const asset* find_asset(std::string_view name) {
    const auto& all = embedded_assets();
    auto it = std::find_if(all.begin(), all.end(), [name](const asset& a) { return a.name == name; });
    return it == all.end() ? nullptr : &*it;
}

http::response asset_response(const asset& a) {
    http::response r;
    r.content_type = std::string(a.content_type);
    r.body = std::string(a.body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    if (a.name == k_index) {
        r.headers.emplace_back("Content-Security-Policy", std::string(k_content_security_policy));
        r.headers.emplace_back("X-Frame-Options", "DENY");
    }
    return r;
}

}  // namespace

void add_routes(http::router& routes) {
    routes.add("GET", "/", [](const http::request&) -> boost::asio::awaitable<http::response> {
        const auto* index = find_asset(k_index);
        if (index == nullptr) {
            co_return http::error_response(404, "not_found", "this build has no status page");
        }
        co_return asset_response(*index);
    });
    routes.add("GET", "/ui/{file}", [](const http::request& req) -> boost::asio::awaitable<http::response> {
        auto name = req.path_params.at("file");
        const auto* a = find_asset(name);
        if (a == nullptr || a->name == k_index) {
            co_return http::error_response(404, "not_found", "no such file of the status page");
        }
        co_return asset_response(*a);
    });
}

}  // namespace changefeed::ui
