.insn 0x06, 0, 0, 0x7fff0000
lab: ja lab
