#include "sources/common/url.hpp"

namespace changefeed::sources {

std::string percent_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(k_hex[c >> 4]);
            out.push_back(k_hex[c & 0x0f]);
        }
    }
    return out;
}

std::string make_url(std::string_view base, std::string_view path, const query_params& params) {
    std::string url(base);
    url += path;
    char sep = '?';
    for (const auto& [key, value] : params) {
        url.push_back(sep);
        sep = '&';
        url += percent_encode(key);
        url.push_back('=');
        url += percent_encode(value);
    }
    return url;
}

}  // namespace changefeed::sources
