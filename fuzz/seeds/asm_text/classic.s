/* the kernel documentation's IPv4 TCP example, plus every operand form */
ldh [12]
jne #0x800, drop
ldb [23]
jneq #6, drop
ldh [20]
jset #0x1fff, drop
ldxb 4*([14]&0xf)
ldh [x + 14]
jeq #0x16, pass
ld #len
ldx #len
ld M[1]
st M[2]
stx M[3]
add #1
sub x
mul #3
div #2
mod #5
neg
lsh #1
rsh x
xor #0xff
or #0b1
and #017
tax
txa
ld #rand
ldh #proto
jlt #1, drop
jle x, drop
jgt #-1, drop, pass
drop: ret #0
pass: ret #-1
