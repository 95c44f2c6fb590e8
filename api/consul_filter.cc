// Consul's `?filter=` expressions (go-bexpr), the part clients use:
// selectors, ==, !=, contains, in, is empty, and, or, not, parentheses.
#include <cctype>

#include "api/consul_api.h"

namespace basefs {

using json = nlohmann::ordered_json;

struct Filter::Node {
  enum class Op { kAnd, kOr, kNot, kEqual, kNotEqual, kContains, kNotContains, kEmpty, kNotEmpty };
  Op op;
  std::vector<std::string> selector;
  std::string value;
  std::shared_ptr<const Node> left, right;
};

namespace {

inline constexpr size_t kMaxFilterBytes = 4096;
inline constexpr int kMaxFilterDepth = 32;

struct Token {
  enum Kind { kWord, kString, kOpen, kClose, kEq, kNe, kEnd } kind;
  std::string text;
};

Result<std::vector<Token>> Tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')') {
      out.push_back({c == '(' ? Token::kOpen : Token::kClose, ""});
      ++i;
    } else if ((c == '=' || c == '!') && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({c == '=' ? Token::kEq : Token::kNe, ""});
      i += 2;
    } else if (c == '"' || c == '`') {
      std::string text;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (c == '"' && s[j] == '\\' && j + 1 < s.size()) ++j;
        text += s[j];
      }
      if (j >= s.size()) return Invalid("filter: unterminated string");
      out.push_back({Token::kString, std::move(text)});
      i = j + 1;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '/' ||
               c == ':') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.' ||
                              s[j] == '-' || s[j] == '/' || s[j] == ':'))
        ++j;
      out.push_back({Token::kWord, s.substr(i, j - i)});
      i = j;
    } else {
      return Invalid(std::string("filter: unexpected character '") + c + "'");
    }
  }
  out.push_back({Token::kEnd, ""});
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> t) : t_(std::move(t)) {}
  Result<std::shared_ptr<const Filter::Node>> Parse() {
    BASEFS_ASSIGN_OR_RETURN(auto n, Or(0));
    if (t_[i_].kind != Token::kEnd) return Invalid("filter: unexpected text after the expression");
    return n;
  }

 private:
  using Op = Filter::Node::Op;
  using NodePtr = std::shared_ptr<const Filter::Node>;
  bool Keyword(const char* w) const { return t_[i_].kind == Token::kWord && t_[i_].text == w; }
  bool KeywordAt(size_t at, const char* w) const {
    return at < t_.size() && t_[at].kind == Token::kWord && t_[at].text == w;
  }
  Result<NodePtr> Or(int depth) {
    BASEFS_ASSIGN_OR_RETURN(NodePtr left, And(depth));
    while (Keyword("or")) {
      ++i_;
      BASEFS_ASSIGN_OR_RETURN(NodePtr right, And(depth));
      left = std::make_shared<Filter::Node>(Filter::Node{Op::kOr, {}, "", left, right});
    }
    return left;
  }
  Result<NodePtr> And(int depth) {
    BASEFS_ASSIGN_OR_RETURN(NodePtr left, Unary(depth));
    while (Keyword("and")) {
      ++i_;
      BASEFS_ASSIGN_OR_RETURN(NodePtr right, Unary(depth));
      left = std::make_shared<Filter::Node>(Filter::Node{Op::kAnd, {}, "", left, right});
    }
    return left;
  }
  Result<NodePtr> Unary(int depth) {
    if (depth > kMaxFilterDepth) return Invalid("filter: nested too deeply");
    if (Keyword("not")) {
      ++i_;
      BASEFS_ASSIGN_OR_RETURN(NodePtr inner, Unary(depth + 1));
      return NodePtr(std::make_shared<Filter::Node>(Filter::Node{Op::kNot, {}, "", inner, nullptr}));
    }
    if (t_[i_].kind == Token::kOpen) {
      ++i_;
      BASEFS_ASSIGN_OR_RETURN(NodePtr inner, Or(depth + 1));
      if (t_[i_].kind != Token::kClose) return Invalid("filter: missing ')'");
      ++i_;
      return inner;
    }
    return Match();
  }
  static std::vector<std::string> Selector(const std::string& text) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t dot; (dot = text.find('.', start)) != std::string::npos; start = dot + 1)
      parts.push_back(text.substr(start, dot - start));
    parts.push_back(text.substr(start));
    return parts;
  }
  Result<std::string> Value() {
    const Token& t = t_[i_];
    if (t.kind != Token::kString && t.kind != Token::kWord) return Invalid("filter: a value is missing");
    ++i_;
    return t.text;
  }
  Result<NodePtr> Match() {
    const Token first = t_[i_];
    if (first.kind != Token::kString && first.kind != Token::kWord) return Invalid("filter: expected a selector");
    ++i_;
    auto node = std::make_shared<Filter::Node>();
    // VALUE in SELECTOR, VALUE not in SELECTOR
    if (Keyword("in") || (Keyword("not") && KeywordAt(i_ + 1, "in"))) {
      const bool negated = Keyword("not");
      i_ += negated ? 2 : 1;
      if (t_[i_].kind != Token::kWord) return Invalid("filter: expected a selector after 'in'");
      node->op = negated ? Op::kNotContains : Op::kContains;
      node->value = first.text;
      node->selector = Selector(t_[i_++].text);
      return NodePtr(node);
    }
    if (first.kind != Token::kWord) return Invalid("filter: a selector cannot be a quoted string");
    node->selector = Selector(first.text);
    if (t_[i_].kind == Token::kEq || t_[i_].kind == Token::kNe) {
      node->op = t_[i_].kind == Token::kEq ? Op::kEqual : Op::kNotEqual;
      ++i_;
      BASEFS_ASSIGN_OR_RETURN(node->value, Value());
    } else if (Keyword("contains") || (Keyword("not") && KeywordAt(i_ + 1, "contains"))) {
      const bool negated = Keyword("not");
      i_ += negated ? 2 : 1;
      node->op = negated ? Op::kNotContains : Op::kContains;
      BASEFS_ASSIGN_OR_RETURN(node->value, Value());
    } else if (Keyword("is")) {
      ++i_;
      const bool negated = Keyword("not");
      if (negated) ++i_;
      if (!Keyword("empty")) return Invalid("filter: expected 'empty' after 'is'");
      ++i_;
      node->op = negated ? Op::kNotEmpty : Op::kEmpty;
    } else if (Keyword("matches") || (Keyword("not") && KeywordAt(i_ + 1, "matches"))) {
      return Invalid("filter: 'matches' (regular expressions) is not supported by basefs");
    } else {
      return Invalid("filter: expected ==, !=, contains, in or is after '" + first.text + "'");
    }
    return NodePtr(node);
  }

  std::vector<Token> t_;
  size_t i_ = 0;
};

const json* Select(const json& row, const std::vector<std::string>& selector) {
  const json* at = &row;
  for (const auto& part : selector) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

bool Equals(const json& v, const std::string& want) {
  if (v.is_string()) return v.get<std::string>() == want;
  if (v.is_number() || v.is_boolean()) return v.dump() == want;
  return false;
}

bool Eval(const Filter::Node& n, const json& row) {
  using Op = Filter::Node::Op;
  switch (n.op) {
    case Op::kAnd: return Eval(*n.left, row) && Eval(*n.right, row);
    case Op::kOr: return Eval(*n.left, row) || Eval(*n.right, row);
    case Op::kNot: return !Eval(*n.left, row);
    default: break;
  }
  const json* v = Select(row, n.selector);
  switch (n.op) {
    case Op::kEqual: return v && Equals(*v, n.value);
    case Op::kNotEqual: return !v || !Equals(*v, n.value);
    case Op::kContains:
    case Op::kNotContains: {
      bool found = false;
      if (v && v->is_array()) {
        for (const auto& e : *v) found = found || Equals(e, n.value);
      } else if (v && v->is_object()) {
        found = v->contains(n.value);
      } else if (v && v->is_string()) {
        found = v->get<std::string>().find(n.value) != std::string::npos;
      }
      return n.op == Op::kContains ? found : !found;
    }
    case Op::kEmpty:
    case Op::kNotEmpty: {
      const bool empty = !v || v->is_null() || ((v->is_string() || v->is_array() || v->is_object()) && v->empty());
      return n.op == Op::kEmpty ? empty : !empty;
    }
    default: return false;
  }
}

}  // namespace

Result<Filter> Filter::Parse(const std::string& text) {
  if (text.size() > kMaxFilterBytes) return Invalid("filter longer than 4096 bytes");
  BASEFS_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  Parser p(std::move(tokens));
  BASEFS_ASSIGN_OR_RETURN(std::shared_ptr<const Node> root, p.Parse());
  Filter f;
  f.root_ = std::move(root);
  return f;
}

bool Filter::Matches(const json& row) const { return !root_ || Eval(*root_, row); }

}  // namespace basefs
