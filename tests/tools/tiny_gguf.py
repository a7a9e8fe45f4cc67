#!/usr/bin/env python3
"""Writes a tiny llama-architecture GGUF model whose samples are single Lean tactic words.

For the real-server test only (tests/e2e/real_llama.rs): llama.cpp, through llama-cpp-python's
OpenAI-compatible server, needs a model file to load, and the test needs answers shaped like a
real server's (status codes, choices, log-probabilities), not good tactics. The weights are
random; two hidden dimensions steer the output:

* dimension 0 is the same large value in every token embedding, so after the final RMS norm it
  is nearly constant and column 0 of the output matrix works as a per-token logit bias (it keeps
  control and byte tokens out of the samples);
* dimension 1 is high on the tokens a prompt ends with (':' and the newline) and low on the
  tactic words; column 1 of the output matrix turns "high" into "a tactic word next" and "low"
  into "end of sequence next". So a sample is one tactic word, then </s>.

With --endless the end of sequence never comes and samples run to `max_tokens` (tactic words
glued together): a slow server, for measuring how a client copes with one request at a time.

Usage: tiny_gguf.py OUT.gguf [--seed N] [--endless]   (needs the `gguf` and `numpy` packages)
"""

import argparse

import gguf
import numpy as np

EMBEDDING = 64
HEADS = 4
KV_HEADS = 2
FEED_FORWARD = 128
LAYERS = 2
CONTEXT = 4096

# What samples are made of: tactics a simulated world can take.
TACTIC_WORDS = ["simp", "ring", "omega", "linarith", "positivity", "norm_num"]
# A few more word pieces, so prompts tokenize into something besides single characters.
OTHER_WORDS = ["intro", "exact", "apply", "rfl", "Nat", "add", "zero", "succ", "h", "x", "n"]

UNK, BOS, EOS = 0, 1, 2
FIRST_BYTE = 3  # 256 byte-fallback tokens follow
NEWLINE = FIRST_BYTE + 0x0A


def vocabulary():
    """SentencePiece-style pieces: control tokens, byte fallback, the space marker, printable
    ASCII, then whole words with and without the space marker."""
    kind = gguf.TokenType
    pieces = [("<unk>", kind.UNKNOWN), ("<s>", kind.CONTROL), ("</s>", kind.CONTROL)]
    pieces += [(f"<0x{b:02X}>", kind.BYTE) for b in range(256)]
    pieces.append(("\u2581", kind.NORMAL))
    pieces += [(chr(c), kind.NORMAL) for c in range(0x21, 0x7F)]
    known = {p for p, _ in pieces}
    for word in TACTIC_WORDS + OTHER_WORDS:
        for piece in (word, "\u2581" + word):
            if piece not in known:
                known.add(piece)
                pieces.append((piece, kind.NORMAL))
    # Longer pieces score higher, so the tokenizer prefers whole words.
    scores = [float(len(p)) if k == kind.NORMAL else 0.0 for p, k in pieces]
    return [p for p, _ in pieces], scores, [k for _, k in pieces]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--endless", action="store_true")
    args = parser.parse_args()
    random = np.random.default_rng(args.seed)

    tokens, scores, types = vocabulary()
    index = {t: i for i, t in enumerate(tokens)}
    size = len(tokens)
    head_dim = EMBEDDING // HEADS

    writer = gguf.GGUFWriter(args.out, "llama")
    writer.add_name("prover-tiny-tactics")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBEDDING)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(size)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(UNK)
    writer.add_bos_token_id(BOS)
    writer.add_eos_token_id(EOS)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(
        "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )

    def noise(rows, cols, scale):
        return (random.standard_normal((rows, cols)) * scale).astype(np.float32)

    tactic_ids = [index[w] for w in TACTIC_WORDS]
    # numpy (rows, cols) is GGUF's {cols, rows}: one row per token.
    embedding = noise(size, EMBEDDING, 1.0)
    embedding[:, 0] = 4.0
    embedding[:, 1] = 0.0
    embedding[[index[":"], NEWLINE], 1] = 4.0
    embedding[tactic_ids, 1] = -4.0
    output = noise(size, EMBEDDING, 0.3)
    bias = np.full(size, -3.0, dtype=np.float32)
    bias[[UNK, BOS]] = -12.0
    bias[FIRST_BYTE : FIRST_BYTE + 256] = -12.0
    bias[tactic_ids] = 0.0
    bias[EOS] = 0.0
    # After the final RMS norm dimension 0 is about 4 / rms(row), about 3.6.
    output[:, 0] = bias / 3.6
    output[:, 1] = 0.0
    output[tactic_ids, 1] = 3.0
    output[EOS, 1] = -3.0
    if args.endless:
        output[EOS, :] = 0.0
        output[EOS, 0] = -12.0 / 3.6
    writer.add_tensor("token_embd.weight", embedding)
    writer.add_tensor("output_norm.weight", np.ones(EMBEDDING, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    kv = head_dim * KV_HEADS
    for layer in range(LAYERS):
        name = f"blk.{layer}."
        writer.add_tensor(name + "attn_norm.weight", np.ones(EMBEDDING, dtype=np.float32))
        writer.add_tensor(name + "attn_q.weight", noise(EMBEDDING, EMBEDDING, 0.1))
        writer.add_tensor(name + "attn_k.weight", noise(kv, EMBEDDING, 0.1))
        writer.add_tensor(name + "attn_v.weight", noise(kv, EMBEDDING, 0.1))
        writer.add_tensor(name + "attn_output.weight", noise(EMBEDDING, EMBEDDING, 0.1))
        writer.add_tensor(name + "ffn_norm.weight", np.ones(EMBEDDING, dtype=np.float32))
        writer.add_tensor(name + "ffn_gate.weight", noise(FEED_FORWARD, EMBEDDING, 0.1))
        writer.add_tensor(name + "ffn_up.weight", noise(FEED_FORWARD, EMBEDDING, 0.1))
        writer.add_tensor(name + "ffn_down.weight", noise(EMBEDDING, FEED_FORWARD, 0.1))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {args.out}: {size} tokens, {LAYERS} layers of {EMBEDDING}")


if __name__ == "__main__":
    main()
