// Recently served JSON pages of the feed, shared by identical requests for as long as the tail
// cache gives the same answer: a repeated page costs neither assembly nor a copy.
#pragma once

#include "feed/feed_reader.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace changefeed::feed {

class page_memo {
public:
    /// At most `max_entries` pages and `max_bytes` of them; the oldest stored goes first.
    explicit page_memo(std::size_t max_entries = 16, std::size_t max_bytes = 8 * 1024 * 1024)
        : max_entries_(max_entries), max_bytes_(max_bytes) {}

    /// The identity of a request's page: since, limit and filters.
    static std::string key(const db::feed_query& q);

    /// The body stored for `key` at `version`, or null.
    [[nodiscard]] std::shared_ptr<const std::string> find(
        const std::string& key, const feed_reader::answer_version& version) const;

    void store(std::string key, feed_reader::answer_version version,
               std::shared_ptr<const std::string> body);

private:
    struct entry {
        std::string key;
        feed_reader::answer_version version;
        std::shared_ptr<const std::string> body;
    };
    std::size_t max_entries_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::vector<entry> entries_;  ///< oldest first
};

}  // namespace changefeed::feed
