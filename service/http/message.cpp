#include "http/message.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>

namespace changefeed::http {

std::optional<std::string_view> request::query_param(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (key == name) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::optional<std::string_view> request::header(std::string_view lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) {
        return std::nullopt;
    }
    return std::string_view(it->second);
}

response error_response(unsigned status, std::string_view code, std::string_view message) {
    boost::json::object inner{{"code", code}, {"message", message}};
    boost::json::object outer{{"error", std::move(inner)}};
    return json_response(boost::json::serialize(outer), status);
}

response json_response(std::string body, unsigned status) {
    response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

}  // namespace changefeed::http
