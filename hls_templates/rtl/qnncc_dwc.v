// qnncc RTL library: stream data width converter, I-element words to O-element words.
//
// Elements keep their order (element 0 in the low bits); any I and O. Three
// datapaths, all accepting an input word whenever fewer than O elements
// remain after this cycle's output (about max(E/I, E/O) cycles for E
// elements; the same cycle behaviour in each):
// * O = k*I (widening): a shift register of O elements, each input word
//   shifted in at the top; the word leaves after k inputs. No data muxes.
// * I = k*O (narrowing): the input word is held and its k slices leave in
//   turn through a k:1 multiplexer.
// * otherwise: a buffer of up to I + O - 1 elements; an input word is
//   written behind the elements held (a shifter).
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
  generate
    if (O % I == 0 && O != I) begin : g_widen
      localparam K = O / I;
      localparam KW = $clog2(K + 1);
      reg [O*BITS-1:0] buffer;
      reg [KW-1:0] have;  // input words in the buffer
      assign out_valid = (have == K);
      assign out_data = buffer;
      wire out_fire = out_valid && out_ready;
      assign in_ready = !out_valid || out_ready;
      wire in_fire = in_valid && in_ready;
      always @(posedge clk) begin
        if (!rst_n) begin
          have <= 0;
        end else if (in_fire) begin
          have <= out_fire ? 1 : have + 1'b1;
        end else if (out_fire) begin
          have <= 0;
        end
      end
      if (K > 1) begin : g_shift
        always @(posedge clk) if (in_fire) buffer <= {in_data, buffer[O*BITS-1:I*BITS]};
      end else begin : g_load
        always @(posedge clk) if (in_fire) buffer <= in_data;
      end
    end else if (I % O == 0 && O != I) begin : g_narrow
      localparam K = I / O;
      localparam KW = $clog2(K + 1);
      localparam SW = (K > 1) ? $clog2(K) : 1;
      reg [I*BITS-1:0] buffer;
      reg [KW-1:0] left;  // output words still to leave
      reg [SW-1:0] slice;
      assign out_valid = (left != 0);
      assign out_data = buffer[slice*O*BITS+:O*BITS];
      wire out_fire = out_valid && out_ready;
      assign in_ready = (left == 0) || (left == 1 && out_ready);
      wire in_fire = in_valid && in_ready;
      always @(posedge clk) begin
        if (!rst_n) begin
          left  <= 0;
          slice <= 0;
        end else if (in_fire) begin
          left  <= K;
          slice <= 0;
        end else if (out_fire) begin
          left  <= left - 1'b1;
          slice <= slice + 1'b1;
        end
      end
      always @(posedge clk) if (in_fire) buffer <= in_data;
    end else begin : g_any
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
    end
  endgenerate
endmodule
