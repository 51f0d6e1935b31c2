#include "support/source_status.hpp"

#include "support/eventually.hpp"
#include "support/http_client.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace changefeed::test {

namespace json = boost::json;

json::object source_status(unsigned short port, const std::string& name,
                           const request_headers& headers) {
    auto reply = http_get(port, "/sources", headers);
    if (reply.status != 200) {
        ADD_FAILURE() << "GET /sources answered " << reply.status << ": " << reply.body;
        return {};
    }
    auto body = json::parse(reply.body);
    for (const auto& s : body.at("sources").as_array()) {
        if (s.at("name") == json::value(json::string_view(name))) {
            return s.as_object();
        }
    }
    ADD_FAILURE() << "no source " << name << " in " << reply.body;
    return {};
}

std::string last_error_of(const json::object& status) {
    const auto* e = status.if_contains("last_error");
    return e != nullptr && e->is_string() ? std::string(e->as_string()) : std::string();
}

json::object await_source(unsigned short port, const std::string& name,
                          const std::function<bool(const json::object&)>& done,
                          std::chrono::milliseconds limit, const request_headers& headers) {
    json::object status;
    (void)eventually(
        [&] {
            status = source_status(port, name, headers);
            return status.empty() || done(status);
        },
        limit);
    return status;
}

}  // namespace changefeed::test
