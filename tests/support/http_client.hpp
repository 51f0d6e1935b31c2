// A blocking HTTP/1.1 client for tests (127.0.0.1 only), with a deadline on every call.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace changefeed::test {

struct http_reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
};

http_reply http_request(unsigned short port, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers = {},
                        const std::string& body = {},
                        std::chrono::seconds timeout = std::chrono::seconds(30));

inline http_reply http_get(unsigned short port, const std::string& target,
                           const std::map<std::string, std::string>& headers = {}) {
    return http_request(port, "GET", target, headers);
}

}  // namespace changefeed::test
