ld [x-1]
ret a
