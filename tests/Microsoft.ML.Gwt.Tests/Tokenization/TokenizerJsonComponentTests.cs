using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Tests.Tokenization;

/// <summary>Hand-written tokenizer.json files (tokenizers serialization format) with ids worked out by hand.</summary>
[TestClass]
public sealed class TokenizerJsonComponentTests
{
    private static TokenizerJsonTextTokenizer FromJson(string json) => new(json, "hand.json");

    private static int[] Plain(TextTokenizer tok, string text) => tok.Encode(text, null, 1000).Ids;

    [TestMethod]
    public void BpeWithContinuationPrefixMergesByRankAndFusesUnknowns()
    {
        var tok = FromJson("""
        {"normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null,
         "model": {"type": "BPE", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "fuse_unk": true,
           "vocab": {"[UNK]": 0, "h": 1, "##e": 2, "##l": 3, "##o": 4, "he": 5, "##ll": 6, "hell": 7, "hello": 8},
           "merges": ["h ##e", "##l ##l", "he ##ll", "hell ##o"]}}
        """);
        // hello: h ##e ##l ##l ##o -> he, ##ll -> hell -> hello; hexz: he + one fused [UNK] for "xz".
        CollectionAssert.AreEqual(new[] { 8, 7, 5, 0 }, Plain(tok, "Hello hell hexz"));
    }

    [TestMethod]
    public void UnigramPicksTheBestSegmentationFusesUnknownsAndFallsBackToBytes()
    {
        const string vocab = """[["<unk>", 0], ["▁", -2], ["▁a", -1], ["b", -3], ["▁ab", -5], ["a", -2.5], ["c", -4]""";
        string Json(string extra, bool byteFallback) => $$"""
            {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
             "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": {{(byteFallback ? "true" : "false")}}, "vocab": {{vocab}}{{extra}}] } }
            """;
        // ▁ab: ▁a+b = -4 beats ▁ab = -5 and ▁+a+b = -7.5; ▁abc: ▁a+b+c = -8 beats ▁ab+c = -9; ▁dd: ▁ + one fused <unk>.
        CollectionAssert.AreEqual(new[] { 2, 3, 2, 3, 6, 1, 0 }, Plain(FromJson(Json("", false)), "ab abc dd"));
        // With byte fallback and <0x64> ("d") in the vocabulary, each unknown "d" becomes its byte.
        CollectionAssert.AreEqual(new[] { 1, 7, 7 }, Plain(FromJson(Json(""", ["<0x64>", 0]""", true)), "dd"));
    }

    [TestMethod]
    public void NormalizerAndPreTokenizerSequencesApplyInOrder()
    {
        var tok = FromJson("""
        {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
            {"type": "Replace", "pattern": {"String": "-"}, "content": " "}, {"type": "Prepend", "prepend": "<"}]},
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": true},
            {"type": "Punctuation", "behavior": "Isolated"}]},
         "model": {"type": "WordLevel", "unk_token": "<unk>",
           "vocab": {"<unk>": 0, "<": 1, "abc": 2, "def": 3, "1": 4, "2": 5, "3": 6, "!": 7}}}
        """);
        // ＡＢＣ-Def 123! -> NFKC ABC-Def 123! -> abc-def 123! -> abc def 123! -> <abc def 123!
        // -> [<abc, def, 123!] -> [<abc, def, 1, 2, 3, !] -> [<, abc, def, 1, 2, 3, !]
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5, 6, 7 }, Plain(tok, "ＡＢＣ-Def 123!"));
    }

    [TestMethod]
    public void NullSequenceElementsAndAnEmptyCharsmapAreNoOps()
    {
        var tok = FromJson("""
        {"normalizer": {"type": "Sequence", "normalizers": [null, {"type": "Precompiled", "precompiled_charsmap": null}, {"type": "Lowercase"}]},
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [null, {"type": "WhitespaceSplit"}]},
         "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "a": 1, "b": 2}}}
        """);
        CollectionAssert.AreEqual(new[] { 1, 2, 0 }, Plain(tok, "A  b c"));
    }

    [TestMethod]
    public void SplitRegexBehaviorsAndWhitespacePreTokenizer()
    {
        string Json(string pre) => $$"""
            {"pre_tokenizer": {{pre}}, "model": {"type": "WordLevel", "unk_token": "?",
              "vocab": {"?": 0, "a": 1, "-": 2, "a-": 3, "-b": 4, "b": 5, "--": 6, "c": 7, "a--": 8} } }
            """;
        CollectionAssert.AreEqual(new[] { 3, 5 }, Plain(FromJson(Json("""{"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithPrevious"}""")), "a-b"));
        CollectionAssert.AreEqual(new[] { 1, 4 }, Plain(FromJson(Json("""{"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithNext"}""")), "a-b"));
        CollectionAssert.AreEqual(new[] { 1, 5 }, Plain(FromJson(Json("""{"type": "Split", "pattern": {"Regex": "-+"}, "behavior": "Removed"}""")), "a--b"));
        CollectionAssert.AreEqual(new[] { 1, 6, 5 }, Plain(FromJson(Json("""{"type": "Split", "pattern": {"String": "-"}, "behavior": "Contiguous"}""")), "a--b"));
        CollectionAssert.AreEqual(new[] { 1, 2, 2, 5 }, Plain(FromJson(Json("""{"type": "Split", "pattern": {"String": "-"}, "behavior": "Isolated"}""")), "a--b"));
        CollectionAssert.AreEqual(new[] { 1, 6, 5 }, Plain(FromJson(Json("""{"type": "Whitespace"}""")), "a--b"));
    }

    [TestMethod]
    public void AddedTokensAreMatchedBeforeTheModelWithStripAndSingleWord()
    {
        var tok = FromJson("""
        {"added_tokens": [
            {"id": 10, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
            {"id": 11, "content": "<sep>", "single_word": false, "lstrip": false, "rstrip": true, "normalized": false, "special": true},
            {"id": 12, "content": "cat", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false}],
         "normalizer": {"type": "Lowercase"},
         "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
         "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0, "▁a": 1, "▁b": 2, "▁": 3, "▁cats": 4, "▁cat": 5}}}
        """);
        // "a <mask>": lstrip takes the space, so no lone "▁" piece; "<sep> b": rstrip takes the space.
        CollectionAssert.AreEqual(new[] { 1, 10 }, Plain(tok, "a <mask>"));
        CollectionAssert.AreEqual(new[] { 11, 2 }, Plain(tok, "<sep> b"));
        // "cat" (normalized, single word) matches in "A CAT" after lowercasing, not inside "cats".
        CollectionAssert.AreEqual(new[] { 1, 3, 12 }, Plain(tok, "A CAT"));
        CollectionAssert.AreEqual(new[] { 4 }, Plain(tok, "cats"));
    }

    [TestMethod]
    public void SpecialTokensInTextAreMatchedWholeAndTemplatesSetSegmentIds()
    {
        var tok = new TokenizerJsonTextTokenizer(File.ReadAllText(TokenizerTestData.Path("wordpiece-json", "tokenizer.json")));
        var hello = tok.Encode("hello", null, 64).Ids[1..^1];
        var world = tok.Encode("world", null, 64).Ids[1..^1];
        var expected = new[] { 2 }.Concat(hello).Append(3).Concat(world).Append(3).ToArray();
        CollectionAssert.AreEqual(expected, tok.Encode("hello [SEP] world", null, 64).Ids, "[SEP] in the text is one token, not [ sep ]");
        var pair = tok.Encode("hello", "world", 64);
        CollectionAssert.AreEqual(Enumerable.Repeat(0, hello.Length + 2).Concat(Enumerable.Repeat(1, world.Length + 1)).ToArray(), pair.TypeIds);
    }

    [TestMethod]
    public void BertProcessingAndRobertaProcessingLayouts()
    {
        const string model = """ "model": {"type": "WordLevel", "unk_token": "u", "vocab": {"u": 0, "c": 1, "s": 2, "a": 3, "b": 4}}, "pre_tokenizer": {"type": "WhitespaceSplit"} """;
        var bert = FromJson($$"""{"post_processor": {"type": "BertProcessing", "cls": ["c", 1], "sep": ["s", 2]}, {{model}} }""");
        var e = bert.Encode("a", "b b", 16);
        CollectionAssert.AreEqual(new[] { 1, 3, 2, 4, 4, 2 }, e.Ids);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 1, 1, 1 }, e.TypeIds);
        var roberta = FromJson($$"""{"post_processor": {"type": "RobertaProcessing", "cls": ["c", 1], "sep": ["s", 2]}, {{model}} }""");
        e = roberta.Encode("a", "b", 16);
        CollectionAssert.AreEqual(new[] { 1, 3, 2, 2, 4, 2 }, e.Ids);
        CollectionAssert.AreEqual(new int[6], e.TypeIds);
        var none = FromJson($$"""{"post_processor": null, {{model}} }""");
        CollectionAssert.AreEqual(new[] { 3 }, none.Encode("a", null, 16).Ids);
    }

    [TestMethod]
    [DataRow(10, 8, 5, 3, 2)]
    [DataRow(8, 10, 5, 2, 3)]
    [DataRow(2, 10, 5, 2, 3)]
    [DataRow(10, 2, 5, 3, 2)]
    [DataRow(6, 1, 3, 2, 1)]
    [DataRow(4, 4, 5, 2, 3)]
    public void LongestFirstTruncationMatchesHuggingFace(int n1, int n2, int budget, int keep1, int keep2)
    {
        Assert.AreEqual((keep1, keep2), TextTokenizer.LongestFirst(n1, n2, budget, true));
    }

    [TestMethod]
    public void TokenizerJsonIsPreferredAndRoundTripsThroughSave()
    {
        var dir = TokenizerTestData.Folder("bert", 1205,
            (TokenizerTestData.Path("wordpiece-json", "tokenizer.json"), "tokenizer.json"), (TokenizerTestData.Path("wordpiece", "vocab.txt"), "vocab.txt"));
        var tok = TokenizerTestData.Load(dir);
        Assert.IsInstanceOfType<TokenizerJsonTextTokenizer>(tok);
        Assert.AreEqual(1205, tok.VocabSize);
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, true))
        {
            tok.Save(w);
        }
        ms.Position = 0;
        var back = TextTokenizer.Load(new BinaryReader(ms));
        foreach (var s in TokenizerTestData.Sentences.Take(50))
        {
            CollectionAssert.AreEqual(tok.Encode(s, "pair", 64).Ids, back.Encode(s, "pair", 64).Ids);
        }
    }

    [TestMethod]
    [DataRow("model", """{"type": "CharLevel", "vocab": {}}""", "CharLevel")]
    [DataRow("normalizer", """{"type": "Unicode9000"}""", "Unicode9000")]
    [DataRow("pre_tokenizer", """{"type": "UnicodeScripts"}""", "UnicodeScripts")]
    [DataRow("post_processor", """{"type": "Fancy"}""", "Fancy")]
    public void UnsupportedComponentNamesTheFileAndTheKind(string field, string value, string kind)
    {
        var parts = new Dictionary<string, string>
        {
            ["model"] = """{"type": "WordLevel", "unk_token": "u", "vocab": {"u": 0}}""",
            ["normalizer"] = "null", ["pre_tokenizer"] = "null", ["post_processor"] = "null",
        };
        parts[field] = value;
        var dir = TokenizerTestData.Folder("bert", 100);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{" + string.Join(",", parts.Select(p => $"\"{p.Key}\": {p.Value}")) + "}");
        var ex = Assert.ThrowsExactly<NotSupportedException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(ex.Message, Path.Combine(dir, "tokenizer.json"));
        StringAssert.Contains(ex.Message, kind);
    }

    [TestMethod]
    public void MalformedTokenizerJsonNamesTheFile()
    {
        var dir = TokenizerTestData.Folder("bert", 100);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": ");
        var ex = Assert.ThrowsExactly<FormatException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(ex.Message, "tokenizer.json");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), """{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}}""");
        ex = Assert.ThrowsExactly<FormatException>(() => TokenizerTestData.Load(dir));
        StringAssert.Contains(ex.Message, "[UNK]");
    }
}
