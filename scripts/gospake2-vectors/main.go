// Known answers of gospake2, the SPAKE2 of wormhole-william, for test/fixtures/gospake2-vectors.json.
// gospake2 encodes elements as minimal big-endian bytes, so one exchange in 256 hashes a cut
// transcript (src/wormhole/spake2.ts). To remake the vectors (needs Go, offline):
//
//	apt-get install golang-go golang-golang-x-crypto-dev golang-debian-vasudev-gospake2-dev
//	mkdir -p /tmp/gopath/src/salsa.debian.org/vasudev /tmp/gopath/src/kat
//	cp -r /usr/share/gocode/src/salsa.debian.org/vasudev/gospake2 /tmp/gopath/src/salsa.debian.org/vasudev/
//	cp kat_export.go.in /tmp/gopath/src/salsa.debian.org/vasudev/gospake2/kat_export.go
//	cp main.go /tmp/gopath/src/kat/ && (cd /tmp/gopath/src/kat && GO111MODULE=off GOPATH=/tmp/gopath:/usr/share/gocode go build -o /tmp/kat .)
//	npm run build && node write.mjs
//
// Arguments: code appid ourMessageHex count. For j = 1..count the Go side's scalar is
// sha512("go-scalar-j") mod L; it prints j, the scalar, its message and its key.
package main

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"strconv"

	"salsa.debian.org/vasudev/gospake2"
	ed "salsa.debian.org/vasudev/gospake2/ed25519group"
)

// args: password appid theirMessageHex count
func main() {
	pw, appid, msgHex := os.Args[1], os.Args[2], os.Args[3]
	count, _ := strconv.Atoi(os.Args[4])
	inbound, _ := hex.DecodeString(msgHex)
	for j := 1; j <= count; j++ {
		h := sha512.Sum512([]byte("go-scalar-" + strconv.Itoa(j)))
		n := new(big.Int).SetBytes(h[:])
		n.Mod(n, ed.L)
		s := gospake2.SPAKE2Symmetric(gospake2.NewPassword(pw), gospake2.NewIdentityS(appid))
		s.SetXyScalarForKAT(n)
		out := s.Start()
		key, err := s.Finish(inbound)
		if err != nil {
			fmt.Println("ERR", err)
			continue
		}
		fmt.Printf("%d %x %s %s\n", j, n.Bytes(), hex.EncodeToString(out), hex.EncodeToString(key))
	}
}
