// qnncc RTL library: TLAST inserter before an AXI DMA's S2MM channel (zynq shell of the RTL backend).
//
// Copies WIDTH-bit words from in_* to out_* and raises out_last on the last
// word of a batch of `frames` frames of WORDS words, so the DMA ends its
// receive transfer there (qnncc's layers stream TDATA only). The register map
// is the one of the HLS inserter (Vitis HLS s_axilite, ap_ctrl_hs), so the PYNQ
// driver programs both alike: CTRL at 0x00 (bit 0 ap_start: write 1 to start
// a batch; bit 1 ap_done, cleared when read; bit 2 ap_idle; bit 3 ap_ready),
// frames at 0x10. A batch of frames == 0 moves nothing and is done at once.
// The words pass through a 2-word FIFO (registered outputs); one word per cycle.
// The AXI-Lite slave takes a write when both its address and data arrived
// and answers every read on the next cycle (OKAY responses).
module qnncc_tlast #(
    parameter WIDTH = 8,
    parameter WORDS = 1,
    parameter AW = 5
) (
    input wire clk,
    input wire rst_n,
    input wire [WIDTH-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [WIDTH-1:0] out_data,
    output wire out_valid,
    input wire out_ready,
    output wire out_last,
    input wire [AW-1:0] awaddr,
    input wire awvalid,
    output wire awready,
    input wire [31:0] wdata,
    input wire [3:0] wstrb,
    input wire wvalid,
    output wire wready,
    output wire [1:0] bresp,
    output reg bvalid,
    input wire bready,
    input wire [AW-1:0] araddr,
    input wire arvalid,
    output wire arready,
    output reg [31:0] rdata,
    output wire [1:0] rresp,
    output reg rvalid,
    input wire rready
);
  localparam [AW-1:0] CTRL = 0;
  localparam [AW-1:0] FRAMES = 5'h10;
  localparam WW = (WORDS > 1) ? $clog2(WORDS) : 1;
  // ---------------------------------------------------------------- control registers
  reg [31:0] frames_reg;  // written by the host
  reg [31:0] frames_left;  // frames of the running batch still to end
  reg [WW-1:0] word;  // word within the frame
  reg start, running, done;
  // AXI-Lite write: address and data latched independently, the write happens when both are held
  reg aw_full, w_full;
  reg [AW-1:0] aw_q;
  reg [31:0] w_q;
  reg [3:0] s_q;
  assign awready = !aw_full;
  assign wready = !w_full;
  assign bresp = 2'b00;
  assign rresp = 2'b00;
  assign arready = !rvalid;
  wire do_write = aw_full && w_full && !bvalid;
  wire ctrl_read = arvalid && arready && (araddr == CTRL);
  // ---------------------------------------------------------------- stream
  wire fifo_ready;
  wire pass = running && in_valid && fifo_ready;
  wire last = (frames_left == 1) && (word == WORDS - 1);
  assign in_ready = running && fifo_ready;
  qnncc_fifo #(
      .WIDTH(WIDTH + 1),
      .DEPTH(2)
  ) out_stream (
      .clk(clk),
      .rst_n(rst_n),
      .in_data({last, in_data}),
      .in_valid(pass),
      .in_ready(fifo_ready),
      .out_data({out_last, out_data}),
      .out_valid(out_valid),
      .out_ready(out_ready)
  );
  integer b;
  always @(posedge clk) begin
    if (!rst_n) begin
      aw_full <= 1'b0;
      w_full <= 1'b0;
      bvalid <= 1'b0;
      rvalid <= 1'b0;
      frames_reg <= 0;
      frames_left <= 0;
      word <= 0;
      start <= 1'b0;
      running <= 1'b0;
      done <= 1'b0;
    end else begin
      if (awvalid && awready) begin
        aw_full <= 1'b1;
        aw_q <= awaddr;
      end
      if (wvalid && wready) begin
        w_full <= 1'b1;
        w_q <= wdata;
        s_q <= wstrb;
      end
      if (bvalid && bready) bvalid <= 1'b0;
      if (do_write) begin
        aw_full <= 1'b0;
        w_full <= 1'b0;
        bvalid <= 1'b1;
        if (aw_q == FRAMES) begin
          for (b = 0; b < 4; b = b + 1) if (s_q[b]) frames_reg[b*8+:8] <= w_q[b*8+:8];
        end else if (aw_q == CTRL && s_q[0] && w_q[0]) start <= 1'b1;
      end
      if (rvalid && rready) rvalid <= 1'b0;
      if (arvalid && arready) begin
        rvalid <= 1'b1;
        case (araddr)
          CTRL: rdata <= {28'd0, done, !running && !start, done, start || running};
          FRAMES: rdata <= frames_reg;
          default: rdata <= 32'd0;
        endcase
      end
      if (ctrl_read) done <= 1'b0;  // ap_done and ap_ready clear when read
      // a batch: start it, count its words, end it on the last one
      if (start && !running) begin
        start <= 1'b0;
        word <= 0;
        frames_left <= frames_reg;
        if (frames_reg == 0) done <= 1'b1;
        else running <= 1'b1;
      end
      if (pass) begin
        if (word == WORDS - 1) begin
          word <= 0;
          frames_left <= frames_left - 1;
        end else word <= word + 1'b1;
        if (last) begin
          running <= 1'b0;
          done <= 1'b1;
        end
      end
    end
  end
endmodule
