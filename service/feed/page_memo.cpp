#include "feed/page_memo.hpp"

namespace changefeed::feed {

namespace {

void append_list(std::string& out, const std::vector<std::string>& values) {
    out.push_back('|');
    for (const auto& v : values) {
        out += v;
        out.push_back(',');
    }
}

}  // namespace

std::string page_memo::key(const db::feed_query& q) {
    std::string k = std::to_string(q.since);
    k.push_back('/');
    k += std::to_string(q.limit);
    append_list(k, q.filter.sources);
    append_list(k, q.filter.resources);
    append_list(k, q.filter.operations);
    return k;
}

std::shared_ptr<const std::string> page_memo::find(
    const std::string& key, const feed_reader::answer_version& version) const {
    for (const auto& e : entries_) {
        if (e.key == key && e.version == version) {
            return e.body;
        }
    }
    return nullptr;
}

void page_memo::store(std::string key, feed_reader::answer_version version,
                      std::shared_ptr<const std::string> body) {
    if (body->size() > max_bytes_ || max_entries_ == 0) {
        return;
    }
    // Drop the same key's older page, then the oldest pages beyond the limits.
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->key == key) {
            bytes_ -= it->body->size();
            entries_.erase(it);
            break;
        }
    }
    bytes_ += body->size();
    entries_.push_back({std::move(key), version, std::move(body)});
    while (entries_.size() > max_entries_ || bytes_ > max_bytes_) {
        bytes_ -= entries_.front().body->size();
        entries_.erase(entries_.begin());
    }
}

}  // namespace changefeed::feed
