#include "core/change_event.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace changefeed::core {

namespace {

// The changefeed namespace for version-5 UUIDs (a fixed random UUID).
constexpr std::array<unsigned char, 16> k_namespace{0x5b, 0x8e, 0x3c, 0x1d, 0x7a, 0x42, 0x4f, 0x0e,
                                                    0x9c, 0x61, 0x2d, 0xb4, 0xe8, 0x17, 0x53, 0xa9};

// SHA-1 fetched once per thread with its context reused: fetching and allocating per call cost
// more than hashing a short identity.
class sha1_hasher {
public:
    sha1_hasher() : md_(EVP_MD_fetch(nullptr, "SHA1", nullptr)), ctx_(EVP_MD_CTX_new()) {}
    ~sha1_hasher() {
        EVP_MD_CTX_free(ctx_);
        EVP_MD_free(md_);
    }
    sha1_hasher(const sha1_hasher&) = delete;
    sha1_hasher& operator=(const sha1_hasher&) = delete;

    EVP_MD_CTX* begin() {
        if (md_ == nullptr || ctx_ == nullptr || EVP_DigestInit_ex(ctx_, md_, nullptr) != 1) {
            throw std::runtime_error("SHA-1 unavailable");
        }
        return ctx_;
    }

private:
    EVP_MD* md_;
    EVP_MD_CTX* ctx_;
};

}  // namespace

std::string make_event_id(std::initializer_list<std::string_view> identity) {
    thread_local sha1_hasher hasher;
    EVP_MD_CTX* ctx = hasher.begin();
    EVP_DigestUpdate(ctx, k_namespace.data(), k_namespace.size());
    bool first = true;
    for (std::string_view part : identity) {
        if (!first) {
            // Unit separator: parts can never run into each other.
            EVP_DigestUpdate(ctx, "\x1f", 1);
        }
        first = false;
        EVP_DigestUpdate(ctx, part.data(), part.size());
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest.data(), &len);
    digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
    digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
    constexpr std::string_view hex = "0123456789abcdef";
    std::string text;
    text.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            text += '-';
        }
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 0xf];
    }
    return text;
}

boost::json::object to_payload(const change_event& e, std::string_view recorded_at) {
    boost::json::object o;
    o["event_id"] = e.event_id;
    o["source"] = e.source;
    o["source_kind"] = e.source_kind;
    o["resource"] = e.resource;
    o["resource_id"] = e.resource_id;
    o["operation"] = e.operation;
    o["occurred_at"] = e.occurred_at;
    o["recorded_at"] = recorded_at;
    if (e.changes) {
        o["changes"] = *e.changes;
    }
    if (e.actor) {
        o["actor"] = *e.actor;
    }
    if (e.data) {
        o["data"] = *e.data;
    }
    if (e.snapshot) {
        o["snapshot"] = true;
    }
    o["upstream"] = e.upstream;
    return o;
}

bool is_operation(std::string_view op) {
    return op == "insert" || op == "update" || op == "delete";
}

}  // namespace changefeed::core
