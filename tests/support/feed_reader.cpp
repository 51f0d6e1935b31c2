#include "support/feed_reader.hpp"

#include "support/http_client.hpp"

#include <boost/json/parse.hpp>

#include <map>
#include <stdexcept>

namespace changefeed::test {

feed_read read_feed_until(unsigned short port, std::size_t count, std::chrono::seconds timeout,
                          const std::string& token, std::int64_t since, const std::string& filter) {
    feed_read out;
    out.next_since = since;
    std::map<std::string, std::string> headers;
    if (!token.empty()) {
        headers["Authorization"] = "Bearer " + token;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.events.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto target = "/changes?limit=1000&wait=5&since=" + std::to_string(out.next_since) + filter;
        auto reply = http_get(port, target, headers);
        if (reply.status != 200) {
            throw std::runtime_error("GET " + target + " answered " + std::to_string(reply.status) +
                                     ": " + reply.body);
        }
        auto body = boost::json::parse(reply.body).as_object();
        for (auto& e : body.at("changes").as_array()) {
            out.events.push_back(e.as_object());
        }
        out.next_since = body.at("next_since").as_int64();
    }
    return out;
}

std::vector<std::string> duplicate_event_ids(const std::vector<boost::json::object>& events) {
    std::map<std::string, int> seen;
    std::vector<std::string> dups;
    for (const auto& e : events) {
        auto id = std::string(e.at("event_id").as_string());
        if (++seen[id] == 2) {
            dups.push_back(id);
        }
    }
    return dups;
}

}  // namespace changefeed::test
