// qnncc RTL library: decode N packed elements into signed (BITS+1)-bit values.
//
// Element i is bits [i*BITS, (i+1)*BITS) of x (the stream packing of
// qnncc.codegen.packing). BIPOLAR codes 1/0 decode to +1/-1, SIGNED codes as
// two's complement, others as unsigned integers.
module qnncc_decode #(
    parameter N = 1,
    parameter BITS = 1,
    parameter SIGNED = 0,
    parameter BIPOLAR = 0
) (
    input wire [N*BITS-1:0] x,
    output wire [N*(BITS+1)-1:0] y
);
  genvar i;
  generate
    for (i = 0; i < N; i = i + 1) begin : g_lane
      wire [BITS-1:0] e = x[i*BITS+:BITS];
      if (BIPOLAR != 0) begin : g_bip
        assign y[i*(BITS+1)+:BITS+1] = e[0] ? {{BITS{1'b0}}, 1'b1} : {(BITS + 1) {1'b1}};
      end else if (SIGNED != 0) begin : g_signed
        assign y[i*(BITS+1)+:BITS+1] = {e[BITS-1], e};
      end else begin : g_unsigned
        assign y[i*(BITS+1)+:BITS+1] = {1'b0, e};
      end
    end
  endgenerate
endmodule
