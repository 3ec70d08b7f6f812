// Command tlogcheck verifies a Sovereign ledger directory with the Go reference implementations
// of the formats it claims: golang.org/x/mod/sumdb/note (signed notes, Ed25519) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 trees, tiles of height 8, record and tree proofs).
//
// It shares no code with Sovereign. It checks:
//   - the checkpoint's signature (note.Open with the log's verifier key);
//   - every tile in the C2SP tlog-tiles layout (tile/<L>/<N>[.p/<W>]) against tlog.ReadTileData
//     over hashes recomputed from the entry bundles (tile/entries/<N>[.p/<W>]) with StoredHashes;
//   - that the tree hash (tlog.TreeHash), from the recomputed hashes and through
//     tlog.TileHashReader over the served tiles, equals the checkpoint's root;
//   - optionally, a c2sp.org/tlog-proof@v1 inclusion proof (tlog.CheckRecord) and a consistency
//     proof from an older checkpoint (tlog.CheckTree), both produced by Sovereign.
//
// Usage: tlogcheck -dir DIR -vkey VKEY [-proof FILE] [-old-checkpoint FILE -consistency FILE]
// Prints "ok ..." lines and exits 0, or prints "FAIL: ..." and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8 // C2SP tlog-tiles: tiles are 2^8 = 256 hashes wide.

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// openCheckpoint verifies a signed note with the log key and parses the C2SP checkpoint body
// (origin, decimal size, base64 root); tlog.ParseTree is for the go.sum tree format instead.
func openCheckpoint(msg []byte, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note.Open: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("checkpoint has fewer than three lines")
	}
	if lines[0] != verifier.Name() {
		return checkpoint{}, fmt.Errorf("checkpoint origin %q is not the key name %q", lines[0], verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("bad root hash: %w", err)
	}
	return checkpoint{origin: lines[0], size: size, root: root}, nil
}

// c2spPath maps a tlog tile to the C2SP layout: no height element, "entries" for data tiles.
func c2spPath(t tlog.Tile) string {
	p := t.Path() // tile/8/<L>/<N>[.p/<W>] or tile/8/data/<N>[.p/<W>]
	p = strings.TrimPrefix(p, fmt.Sprintf("tile/%d/", height))
	p = strings.Replace(p, "data/", "entries/", 1)
	return "tile/" + p
}

// readTile reads a tile of width W: the partial file, or a prefix of the full tile.
func readTile(dir string, t tlog.Tile) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
	if err == nil {
		return data, nil
	}
	if t.W == 1<<height || !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	full := t
	full.W = 1 << height
	data, err = os.ReadFile(filepath.Join(dir, c2spPath(full)))
	if err != nil {
		return nil, err
	}
	if len(data) < t.W*tlog.HashSize {
		return nil, fmt.Errorf("%s is short", c2spPath(full))
	}
	return data[:t.W*tlog.HashSize], nil
}

// dirTiles is a tlog.TileReader over the static directory.
type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return height }
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := readTile(d.dir, t)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// entries reads every entry bundle (uint16 big-endian length-prefixed entries) up to size.
func entries(dir string, size int64) ([][]byte, error) {
	var out [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: height, L: -1, N: n, W: int(w)}
		data, err := readTile(dir, t)
		if err != nil {
			// A full bundle has no fixed length: fall back to it and keep the first w entries.
			full := t
			full.W = 256
			if data, err = os.ReadFile(filepath.Join(dir, c2spPath(full))); err != nil {
				return nil, fmt.Errorf("entry bundle %d: %w", n, err)
			}
		}
		var got int64
		for len(data) > 0 && got < w {
			if len(data) < 2 {
				return nil, fmt.Errorf("%s truncated", c2spPath(t))
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				return nil, fmt.Errorf("%s truncated", c2spPath(t))
			}
			out = append(out, data[2:2+l])
			data = data[2+l:]
			got++
		}
		if got != w {
			return nil, fmt.Errorf("%s holds %d entries, want %d", c2spPath(t), got, w)
		}
	}
	return out, nil
}

// memHashes is a tlog.HashReader over hashes recomputed from the entries.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func parseHashes(lines []string) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, l := range lines {
		h, err := tlog.ParseHash(l)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func main() {
	dir := flag.String("dir", "", "ledger static directory (holds checkpoint and tile/)")
	vkey := flag.String("vkey", "", "log verifier key <name>+<hash>+<base64>")
	proofFile := flag.String("proof", "", "a c2sp.org/tlog-proof@v1 file to check against the log")
	oldFile := flag.String("old-checkpoint", "", "an older signed checkpoint of the same log")
	consFile := flag.String("consistency", "", "consistency proof from -old-checkpoint to the current checkpoint (base64 hashes, one per line)")
	flag.Parse()
	if *dir == "" || *vkey == "" {
		fail("usage: tlogcheck -dir DIR -vkey VKEY [-proof FILE] [-old-checkpoint FILE -consistency FILE]")
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(*dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	cp, err := openCheckpoint(msg, verifier)
	if err != nil {
		fail("checkpoint: %v", err)
	}
	fmt.Printf("ok checkpoint signature (note.Open): %s size %d root %s\n", cp.origin, cp.size, cp.root)

	// Recompute every stored hash from the entries (tlog.StoredHashes), then the tree hash.
	recs, err := entries(*dir, cp.size)
	if err != nil {
		fail("%v", err)
	}
	var stored memHashes
	for i, e := range recs {
		hs, err := tlog.StoredHashes(int64(i), e, stored)
		if err != nil {
			fail("StoredHashes(%d): %v", i, err)
		}
		stored = append(stored, hs...)
	}
	th, err := tlog.TreeHash(cp.size, stored)
	if err != nil {
		fail("TreeHash: %v", err)
	}
	if th != cp.root {
		fail("tree hash recomputed from the entry bundles %s != checkpoint root %s", th, cp.root)
	}
	fmt.Printf("ok %d entries: tree hash recomputed from the bundles equals the checkpoint root\n", len(recs))

	// Every tile of the tree, byte for byte (tlog.ReadTileData over the recomputed hashes).
	// NewTiles lists every partial width 1..W of a right-edge tile (older x/mod); the C2SP layout
	// only promises the one for this tree size, so keep the full tiles and the widest partial.
	var tiles []tlog.Tile
	for _, t := range tlog.NewTiles(height, 0, cp.size) {
		if t.W == 1<<height || int64(t.W) == (cp.size>>(height*t.L))-t.N<<height {
			tiles = append(tiles, t)
		}
	}
	for _, t := range tiles {
		want, err := tlog.ReadTileData(t, stored)
		if err != nil {
			fail("ReadTileData(%s): %v", c2spPath(t), err)
		}
		got, err := readTile(*dir, t)
		if err != nil {
			fail("%s: %v", c2spPath(t), err)
		}
		if !bytes.Equal(got, want) {
			fail("%s differs from the hashes recomputed from the entries", c2spPath(t))
		}
	}
	fmt.Printf("ok %d tiles match tlog.ReadTileData\n", len(tiles))

	// The served tiles alone, as a client reads them (TileHashReader checks them against the root).
	hr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, dirTiles{*dir})
	if th2, err := tlog.TreeHash(cp.size, hr); err != nil || th2 != cp.root {
		fail("TreeHash through TileHashReader: %v %s", err, th2)
	}
	fmt.Println("ok TileHashReader over the served tiles yields the checkpoint root")

	if *proofFile != "" {
		text, err := os.ReadFile(*proofFile)
		if err != nil {
			fail("%v", err)
		}
		// c2sp.org/tlog-proof@v1: header, [extra], index, hashes, empty line, checkpoint.
		parts := strings.SplitN(string(text), "\n\n", 2)
		if len(parts) != 2 {
			fail("tlog-proof: no empty line before the checkpoint")
		}
		lines := strings.Split(parts[0], "\n")
		if lines[0] != "c2sp.org/tlog-proof@v1" {
			fail("tlog-proof: bad header %q", lines[0])
		}
		lines = lines[1:]
		var extra []byte
		if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
			if extra, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra ")); err != nil {
				fail("tlog-proof extra: %v", err)
			}
			lines = lines[1:]
		}
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
			fail("tlog-proof: no index line")
		}
		index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
		if err != nil {
			fail("tlog-proof index: %v", err)
		}
		hashes, err := parseHashes(lines[1:])
		if err != nil {
			fail("tlog-proof hash: %v", err)
		}
		pcp, err := openCheckpoint([]byte(parts[1]), verifier)
		if err != nil {
			fail("tlog-proof checkpoint: %v", err)
		}
		if index < 0 || index >= int64(len(recs)) || !bytes.Equal(extra, recs[index]) {
			fail("tlog-proof: extra data is not entry %d of the log", index)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(hashes), pcp.size, pcp.root, index, tlog.RecordHash(extra)); err != nil {
			fail("tlog.CheckRecord(index %d, size %d): %v", index, pcp.size, err)
		}
		fmt.Printf("ok inclusion proof of entry %d in tree %d (tlog.CheckRecord)\n", index, pcp.size)
	}

	if *oldFile != "" || *consFile != "" {
		oldMsg, err := os.ReadFile(*oldFile)
		if err != nil {
			fail("%v", err)
		}
		old, err := openCheckpoint(oldMsg, verifier)
		if err != nil {
			fail("old checkpoint: %v", err)
		}
		text, err := os.ReadFile(*consFile)
		if err != nil {
			fail("%v", err)
		}
		hashes, err := parseHashes(strings.Fields(string(text)))
		if err != nil {
			fail("consistency proof: %v", err)
		}
		if err := tlog.CheckTree(tlog.TreeProof(hashes), cp.size, cp.root, old.size, old.root); err != nil {
			fail("tlog.CheckTree(%d -> %d): %v", old.size, cp.size, err)
		}
		fmt.Printf("ok consistency proof %d -> %d (tlog.CheckTree)\n", old.size, cp.size)
	}
}
