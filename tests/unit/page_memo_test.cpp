// Shared JSON pages: found only for the same query and the same cache answer; bounded.
#include "feed/page_memo.hpp"

#include <gtest/gtest.h>

namespace changefeed::feed {
namespace {

std::shared_ptr<const std::string> body(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
}

TEST(page_memo, keys_tell_since_limit_and_filters_apart) {
    db::feed_query a;
    a.since = 10;
    a.limit = 100;
    auto b = a;
    b.limit = 10;
    auto c = a;
    c.filter.sources = {"x"};
    auto d = a;
    d.filter.resources = {"x"};
    auto e = a;
    e.since = 1;
    e.limit = 0;
    EXPECT_NE(page_memo::key(a), page_memo::key(b));
    EXPECT_NE(page_memo::key(a), page_memo::key(c));
    EXPECT_NE(page_memo::key(c), page_memo::key(d));
    EXPECT_NE(page_memo::key(a), page_memo::key(e));
    EXPECT_EQ(page_memo::key(a), page_memo::key(db::feed_query{10, 100, {}}));
}

TEST(page_memo, finds_a_page_only_at_the_same_version) {
    page_memo memo;
    feed_reader::answer_version v1{1, 50};
    memo.store("k", v1, body("page"));
    ASSERT_TRUE(memo.find("k", v1));
    EXPECT_EQ(*memo.find("k", v1), "page");
    EXPECT_FALSE(memo.find("k", feed_reader::answer_version{2, 50})) << "the cache changed";
    EXPECT_FALSE(memo.find("k", feed_reader::answer_version{1, 51})) << "a newer head is known";
    EXPECT_FALSE(memo.find("other", v1));
    memo.store("k", feed_reader::answer_version{2, 50}, body("newer"));
    EXPECT_FALSE(memo.find("k", v1));
    EXPECT_EQ(*memo.find("k", feed_reader::answer_version{2, 50}), "newer");
}

TEST(page_memo, keeps_at_most_its_entries_and_bytes) {
    page_memo memo(2, 10);
    feed_reader::answer_version v{1, 1};
    memo.store("a", v, body("aaaa"));
    memo.store("b", v, body("bbbb"));
    memo.store("c", v, body("cccc"));
    EXPECT_FALSE(memo.find("a", v));
    EXPECT_TRUE(memo.find("b", v));
    EXPECT_TRUE(memo.find("c", v));
    memo.store("d", v, body("dddddddd"));  // 4 + 8 > 10: "b" goes as well
    EXPECT_FALSE(memo.find("b", v));
    EXPECT_TRUE(memo.find("d", v));
    memo.store("huge", v, body(std::string(11, 'x')));
    EXPECT_FALSE(memo.find("huge", v));
}

}  // namespace
}  // namespace changefeed::feed
