// qnncc RTL library: DuplicateStreams, every word copied to N outputs (a fork).
//
// out_data holds N copies of the word (output i in bits [i*WIDTH, (i+1)*WIDTH)).
// A new word is taken once every output has accepted the previous one (or
// accepts it in this cycle): one word per cycle without back-pressure.
module qnncc_dup #(
    parameter N = 2,
    parameter WIDTH = 8
) (
    input wire clk,
    input wire rst_n,
    input wire [WIDTH-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [N*WIDTH-1:0] out_data,
    output wire [N-1:0] out_valid,
    input wire [N-1:0] out_ready
);
  reg [WIDTH-1:0] word;
  reg [N-1:0] pending;
  assign out_valid = pending;
  assign out_data = {N{word}};
  assign in_ready = ((pending & ~out_ready) == {N{1'b0}});
  wire fire = in_valid && in_ready;
  always @(posedge clk) begin
    if (!rst_n) pending <= {N{1'b0}};
    else begin
      pending <= fire ? {N{1'b1}} : (pending & ~out_ready);
      if (fire) word <= in_data;
    end
  end
endmodule
