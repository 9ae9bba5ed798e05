// qnncc RTL library: stream data width converter, I-element words to O-element words.
//
// Elements keep their order; any I and O (not only multiples). A buffer of up
// to I + O - 1 elements: an output word leaves whenever it holds O elements,
// an input word enters whenever fewer than O remain after this cycle's
// output, so about max(E/I, E/O) cycles for E elements.
module qnncc_dwc #(
    parameter I = 1,
    parameter O = 1,
    parameter BITS = 1
) (
    input wire clk,
    input wire rst_n,
    input wire [I*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [O*BITS-1:0] out_data,
    output wire out_valid,
    input wire out_ready
);
  localparam N = I + O;
  localparam CW = $clog2(N + 1);
  reg [N*BITS-1:0] buffer;
  reg [CW-1:0] have;
  assign out_valid = (have >= O);
  assign out_data = buffer[O*BITS-1:0];
  wire out_fire = out_valid && out_ready;
  wire [CW-1:0] after = out_fire ? have - O : have;
  assign in_ready = (after < O);
  wire in_fire = in_valid && in_ready;
  wire [N*BITS-1:0] shifted = out_fire ? (buffer >> (O * BITS)) : buffer;
  wire [N*BITS-1:0] incoming = {{(N - I) * BITS{1'b0}}, in_data};
  always @(posedge clk) begin
    if (!rst_n) begin
      have <= 0;
      buffer <= {N * BITS{1'b0}};
    end else begin
      buffer <= in_fire ? (shifted | (incoming << (after * BITS))) : shifted;
      have <= in_fire ? after + I : after;
    end
  end
endmodule
