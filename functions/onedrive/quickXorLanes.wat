;; QuickXorHash's inner loop in WebAssembly SIMD: XOR a run of whole 160-byte periods into a 160-byte lane block.
;; Ten 16-byte registers hold the block while the run streams through, so each input byte costs one vector load
;; and one vector XOR (a JavaScript loop manages 4 bytes per load). quickXorLanesBinary.ts holds the assembled bytes;
;; `npm run build:wasm` reassembles them after an edit here, and a test fails while the two disagree.
;;
;; Memory (one 64 KiB page): bytes [0, 160) are the lanes, the caller copies input into [256, 65536).
(module
  (memory (export "memory") 1 1)
  ;; lanes[0, 160) ^= input[from + 160p, from + 160p + 160) for every p < periods.
  (func (export "xorPeriods") (param $from i32) (param $periods i32)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128) (local $l4 v128)
    (local $l5 v128) (local $l6 v128) (local $l7 v128) (local $l8 v128) (local $l9 v128)
    (local.set $l0 (v128.load offset=0 (i32.const 0)))
    (local.set $l1 (v128.load offset=16 (i32.const 0)))
    (local.set $l2 (v128.load offset=32 (i32.const 0)))
    (local.set $l3 (v128.load offset=48 (i32.const 0)))
    (local.set $l4 (v128.load offset=64 (i32.const 0)))
    (local.set $l5 (v128.load offset=80 (i32.const 0)))
    (local.set $l6 (v128.load offset=96 (i32.const 0)))
    (local.set $l7 (v128.load offset=112 (i32.const 0)))
    (local.set $l8 (v128.load offset=128 (i32.const 0)))
    (local.set $l9 (v128.load offset=144 (i32.const 0)))
    (block $done
      (br_if $done (i32.eqz (local.get $periods)))
      (loop $period
        (local.set $l0 (v128.xor (local.get $l0) (v128.load offset=0 (local.get $from))))
        (local.set $l1 (v128.xor (local.get $l1) (v128.load offset=16 (local.get $from))))
        (local.set $l2 (v128.xor (local.get $l2) (v128.load offset=32 (local.get $from))))
        (local.set $l3 (v128.xor (local.get $l3) (v128.load offset=48 (local.get $from))))
        (local.set $l4 (v128.xor (local.get $l4) (v128.load offset=64 (local.get $from))))
        (local.set $l5 (v128.xor (local.get $l5) (v128.load offset=80 (local.get $from))))
        (local.set $l6 (v128.xor (local.get $l6) (v128.load offset=96 (local.get $from))))
        (local.set $l7 (v128.xor (local.get $l7) (v128.load offset=112 (local.get $from))))
        (local.set $l8 (v128.xor (local.get $l8) (v128.load offset=128 (local.get $from))))
        (local.set $l9 (v128.xor (local.get $l9) (v128.load offset=144 (local.get $from))))
        (local.set $from (i32.add (local.get $from) (i32.const 160)))
        (local.set $periods (i32.sub (local.get $periods) (i32.const 1)))
        (br_if $period (local.get $periods))))
    (v128.store offset=0 (i32.const 0) (local.get $l0))
    (v128.store offset=16 (i32.const 0) (local.get $l1))
    (v128.store offset=32 (i32.const 0) (local.get $l2))
    (v128.store offset=48 (i32.const 0) (local.get $l3))
    (v128.store offset=64 (i32.const 0) (local.get $l4))
    (v128.store offset=80 (i32.const 0) (local.get $l5))
    (v128.store offset=96 (i32.const 0) (local.get $l6))
    (v128.store offset=112 (i32.const 0) (local.get $l7))
    (v128.store offset=128 (i32.const 0) (local.get $l8))
    (v128.store offset=144 (i32.const 0) (local.get $l9))))
